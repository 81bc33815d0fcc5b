"""The measured spend ledger against a hand computation: a Cloud Run service in the sandbox
goes through busy, idle and scaled-to-zero periods on the sandbox's clock (no waiting), the
beat task's service reads Cloud Monitoring, and each day's row is checked to the cent."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from google.cloud import run_v2

from deployments.models import Deployment
from deployments.pricing.estimator import cents
from deployments.services import deployment_request
from deployments.services.prices import price_table_active
from deployments.services.spend import spend_accrue
from metering.meters import meter_for
from metering.models import SpendDay
from metering.selectors import spend_compared
from metering.services import spend_day_record, spend_measure
from tests.sandbox import helpers
from tests.sandbox.conftest import credentials, run_client  # noqa: F401
from tests.sandbox.helpers import PARENT

T0 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
NOV_30, DEC_1 = date(2026, 11, 30), date(2026, 12, 1)


def per_instance_second() -> Decimal:
    """Seed 000's shape from the price table by hand: 1 × L4 without zonal redundancy,
    8 vCPU and 32 GiB, per second (0.0001867 + 8 × 0.000018 + 32 × 0.000002 in 2026-11-22's)."""
    run = price_table_active().data["cloud_run"]
    return (
        Decimal(run["gpu_per_second"]["nvidia-l4"]["zonal_redundancy_off"])
        + 8 * Decimal(run["vcpu_per_second"])
        + 32 * Decimal(run["gib_per_second"])
    )


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task", lambda name, args, countdown: None
    )


def control(sandbox, path: str, body: dict[str, Any]) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text


def clock(sandbox) -> datetime:
    now = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00"))


@pytest.fixture
def metered(sandbox, run_client, team, deployer):  # noqa: F811
    """A requested seed-000 deployment whose Cloud Run service serves from T0 (one request
    per instance, two instances at most) and whose billing clock started then."""
    deployment: Any = deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="gemma-metered",
        values={"model": "gemma3-4b", "region": "europe-west1"},
        justification="metering",
    )
    Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=T0)
    control(sandbox, "clock", {"set": T0.isoformat()})
    service = helpers.gpu_service("ollama/ollama:0.12.6")
    service.template.scaling = run_v2.RevisionScaling(min_instance_count=0, max_instance_count=2)
    service.template.max_instance_request_concurrency = 1
    helpers.wait(
        run_client.create_service(parent=PARENT, service=service, service_id="gemma-metered")
    )
    deployment.refresh_from_db()
    return deployment


def row(deployment: Any, day: date) -> SpendDay:
    return SpendDay.objects.get(deployment=deployment, day=day)


def test_the_ledger_matches_a_hand_computation_to_the_cent(sandbox, metered):
    name = f"{PARENT}/services/gemma-metered"
    price = per_instance_second()
    assert meter_for(metered).unit_price == price
    control(sandbox, "config", {"run_idle_timeout": 900, "monitoring_delay": 180})
    control(sandbox, "run/busy", {"service": name, "seconds": 1800})  # 23:00-23:30 busy
    control(sandbox, "clock", {"advance_seconds": 3600})  # idle till 23:45, zero till 00:30
    control(sandbox, "run/busy", {"service": name, "seconds": 600, "concurrent": 2})  # to 00:40

    # Read at 00:40 while Google still holds the last 3 minutes back.
    first = spend_measure(now=clock(sandbox))
    assert (first.days_read, first.failed) == (2, 0)
    assert row(metered, DEC_1).billed_seconds == Decimal(2 * 7 * 60)

    control(sandbox, "clock", {"advance_seconds": 7200})  # both idle till 00:55, then zero
    now = clock(sandbox)
    spend_accrue(now=now)  # the estimate's clock, T0 to 02:40
    spend_measure(now=now)
    spend_measure(now=now)  # a repeated read changes nothing

    # Hand count: 30 Nov, one instance 23:00-23:45 = 2,700 s; 1 Dec, two instances
    # 00:30-00:55 = 3,000 s; at $0.0003947 per instance-second that is $1.07 and $1.18.
    nov, dec = row(metered, NOV_30), row(metered, DEC_1)
    assert SpendDay.objects.filter(deployment=metered).count() == 2
    assert (nov.billed_seconds, nov.measured) == (Decimal(2700), cents(2700 * price))
    assert (dec.billed_seconds, dec.measured) == (Decimal(3000), cents(3000 * price))
    # The estimate beside it: the approved average rate ($345.7572 a month / 730 h) over
    # the billed hours of each day: 1 h on 30 Nov, 2 h 40 min on 1 Dec.
    hourly = Decimal(metered.estimate["monthly"]) / 730
    assert nov.estimated == cents(hourly)
    assert dec.estimated == cents(hourly * Decimal(160) / 60)
    assert nov.final and not dec.final  # 30 Nov settled an hour after midnight

    # A slow read of 1 Dec that covered less of the day lands late: it changes nothing.
    meter = meter_for(metered)
    assert meter is not None
    stale = now - timedelta(hours=2)
    spend_day_record(
        deployment=metered,
        meter=meter,
        day=DEC_1,
        seconds=Decimal(840),
        through=stale,
        final=False,
        now=now,
    )
    assert row(metered, DEC_1).billed_seconds == Decimal(3000)

    december = spend_compared(deployment=metered, now=now)
    assert (december.days, december.measured) == (1, dec.measured)
    assert december.difference == dec.measured - dec.estimated


def test_torn_down_deployments_stop_being_read_once_their_days_settle(sandbox, metered):
    control(sandbox, "clock", {"advance_seconds": 600})
    now = clock(sandbox)
    spend_accrue(now=now)
    Deployment.objects.filter(pk=metered.pk).update(cost_accrued_until=None)  # billing ended

    assert spend_measure(now=now + timedelta(hours=2)).days_read == 1
    assert row(metered, NOV_30).final
    assert spend_measure(now=now + timedelta(hours=3)).days_read == 0
