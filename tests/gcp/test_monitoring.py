"""Cloud Run's billable instance time: the sandbox's instances on its own clock, read back by
the Cloud Monitoring adapter (timeSeries.list) exactly as a hand count of instance-seconds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from google.api_core import exceptions as gexc
from google.cloud import run_v2

from gcp import monitoring
from tests.sandbox import helpers
from tests.sandbox.conftest import credentials, run_client  # noqa: F401
from tests.sandbox.helpers import PARENT, REGION

T0 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def serve(sandbox, run_client, service_id: str, *, min_instances: int = 0) -> str:  # noqa: F811
    """A GPU service that serves one request per instance, at most two instances."""
    service = helpers.gpu_service("ollama/ollama:0.12.6")
    service.template.scaling = run_v2.RevisionScaling(
        min_instance_count=min_instances, max_instance_count=2
    )
    service.template.max_instance_request_concurrency = 1
    helpers.wait(run_client.create_service(parent=PARENT, service=service, service_id=service_id))
    return f"{PARENT}/services/{service_id}"


def control(sandbox, path: str, body: dict) -> dict:
    response = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def seconds(service_id: str, start: datetime, end: datetime) -> Decimal:
    return monitoring.billable_instance_seconds(
        service=service_id, region=REGION, start=start, end=end
    )


def test_busy_idle_and_scaled_to_zero_are_billed_as_instances_live(sandbox, run_client):  # noqa: F811
    control(sandbox, "config", {"run_idle_timeout": 900})
    control(sandbox, "clock", {"set": "2026-11-30T23:00:00Z"})
    name = serve(sandbox, run_client, "metered")
    control(sandbox, "run/busy", {"service": name, "seconds": 1800})  # 23:00-23:30, 1 instance
    control(sandbox, "clock", {"advance_seconds": 3600})  # idle 15 min, then zero till 00:30
    control(sandbox, "run/busy", {"service": name, "seconds": 600, "concurrent": 2})  # 00:30-00:40
    control(sandbox, "clock", {"advance_seconds": 7200})  # both idle 15 min, then zero

    # Hand count: 23:00-23:45 is 2,700 s; 00:30-00:55 twice is 3,000 s; nothing after.
    midnight = T0 + timedelta(hours=1)
    assert seconds("metered", T0, midnight) == Decimal(2700)
    assert seconds("metered", midnight, midnight + timedelta(days=1)) == Decimal(3000)
    assert seconds("metered", T0 - timedelta(days=1), T0) == Decimal(0)
    assert seconds("another", T0, midnight) == Decimal(0)


def test_min_instances_are_billed_while_the_revision_serves(sandbox, run_client):  # noqa: F811
    control(sandbox, "clock", {"set": "2026-11-30T23:00:00Z"})
    serve(sandbox, run_client, "kept-warm", min_instances=1)
    control(sandbox, "clock", {"advance_seconds": 7200})
    run_client.delete_service(name=f"{PARENT}/services/kept-warm")
    control(sandbox, "clock", {"advance_seconds": 3600})

    assert seconds("kept-warm", T0, T0 + timedelta(hours=4)) == Decimal(7200)


def test_a_late_sample_is_not_shown_yet(sandbox, run_client):  # noqa: F811
    control(sandbox, "config", {"monitoring_delay": 180})
    control(sandbox, "clock", {"set": "2026-11-30T23:00:00Z"})
    name = serve(sandbox, run_client, "late")
    control(sandbox, "run/busy", {"service": name, "seconds": 600})

    # Ten minutes busy, but the last three are not visible yet (Google: up to 180 s late).
    assert seconds("late", T0, T0 + timedelta(hours=1)) == Decimal(420)
    control(sandbox, "clock", {"advance_seconds": 180})
    assert seconds("late", T0, T0 + timedelta(hours=1)) == Decimal(600)


def test_the_sandbox_refuses_what_google_refuses(sandbox):
    url = f"{sandbox.url}/v3/projects/hangar-sandbox/timeSeries"
    with pytest.raises(gexc.BadRequest):
        monitoring._list({"interval.endTime": "2026-12-01T00:00:00Z"})  # no filter
    with pytest.raises(gexc.BadRequest):
        monitoring._list({"filter": f'metric.type = "{monitoring.BILLABLE_INSTANCE_TIME}"'})
    with pytest.raises(gexc.BadRequest):
        monitoring._list(
            {
                "filter": f'metric.type = "{monitoring.BILLABLE_INSTANCE_TIME}"',
                "interval.startTime": "2026-12-02T00:00:00Z",
                "interval.endTime": "2026-12-01T00:00:00Z",
            }
        )
    with pytest.raises(gexc.BadRequest):
        monitoring._list({"filter": "metric.type = 1", "interval.endTime": "2026-12-01T00:00:00Z"})
    with pytest.raises(gexc.BadRequest):
        monitoring._list(
            {
                "filter": f'metric.type = "{monitoring.BILLABLE_INSTANCE_TIME}"',
                "interval.endTime": "2026-12-01T00:00:00Z",
                "unknownField": "1",
            }
        )
    assert requests.get(url, timeout=10).status_code == 401
