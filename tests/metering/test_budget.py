"""Budgets on measured spend: the month to date, the projection, the approval policy's budget
check and the pages use what Google measured where it did, the estimate elsewhere, and say
which."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.models import CostAccrual
from deployments.selectors import hours_left_in_month
from deployments.services import deployment_request
from metering.budget import budget_spend
from metering.models import SpendDay
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task", lambda name, args, countdown: None
    )


def accrue(deployment: Any, start: datetime, hours: int, amount: str) -> None:
    CostAccrual.objects.create(
        deployment=deployment,
        team=deployment.team,
        period_start=start,
        period_end=start + timedelta(hours=hours),
        amount=Decimal(amount),
        hourly_rate=Decimal(amount) / hours,
    )


def measure(deployment: Any, day: Any, measured: str, estimated: str) -> None:
    SpendDay.objects.create(
        deployment=deployment,
        team=deployment.team,
        day=day,
        source="cloud-run-instance-time",
        billed_seconds=Decimal(3600),
        unit_price=Decimal("0.0003947"),
        price_version="2026-11-22",
        measured=Decimal(measured),
        estimated=Decimal(estimated),
        measured_through=timezone.now(),
        read_at=timezone.now(),
    )


def start_of_today() -> datetime:
    return datetime.combine(timezone.now().date(), datetime.min.time(), tzinfo=UTC)


def test_measured_days_replace_their_estimate_and_the_rest_stays_estimated(team):
    measured: Any = DeploymentFactory(team=team, status="ready")
    unmetered: Any = DeploymentFactory(team=team, status="ready")
    today = start_of_today()
    accrue(measured, today, 1, "2.00")
    accrue(unmetered, today, 1, "3.00")
    measure(measured, today.date(), measured="50.00", estimated="2.00")

    spend = budget_spend(team=team, now=today + timedelta(hours=1))
    assert (spend.measured, spend.estimated) == (Decimal("50.00"), Decimal("3.00"))
    assert spend.month_to_date == Decimal("53.00")
    assert spend.basis == "measured and estimated"
    assert budget_spend(team=DeploymentFactory().team).basis == "estimated"


def test_the_budget_check_and_the_pages_use_measured_spend(client, team, deployer):
    running: Any = DeploymentFactory(team=team, status="ready")
    today = start_of_today()
    accrue(running, today, 1, "1.00")
    # On the estimate the request fits with $20 to spare (seed 000: $345.7572 a month)...
    coming = Decimal("345.7572") / 730 * hours_left_in_month(timezone.now())
    team.monthly_budget = (Decimal("1.00") + coming + 20).quantize(Decimal("0.01"))
    team.save()
    # ... but Google measured $44 more than the estimate today.
    measure(running, today.date(), measured="45.00", estimated="1.00")

    deployment = deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="gemma-over",
        values={"model": "gemma3-4b", "region": "europe-west1"},
        justification="budget",
    )
    assert deployment.status == "pending_approval"
    event = deployment.events.filter(message__contains="budget").first()
    assert event is not None and "measured" in event.message

    client.force_login(deployer)
    html = unescape(client.get(reverse("team-detail", args=[team.slug])).content.decode())
    assert "$45.00" in html and "measured and estimated" not in html
    assert 'data-budget-basis="measured"' in html
