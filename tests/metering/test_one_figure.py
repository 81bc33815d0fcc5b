"""One figure per fact: the team page's month to date, its measured and estimated parts,
the spend per day, the spend per deployment and the measured total are the same days
added up, so they agree; the projection is flagged when it exceeds the budget."""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.models import CostAccrual
from deployments.pricing.money import usd
from metering.models import SpendDay
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

# Mid-month, so the month holds both an earlier (measured) day and today.
NOW = datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def mid_month(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def accrue(deployment: Any, end: datetime, amount: str) -> CostAccrual:
    return CostAccrual.objects.create(
        deployment=deployment,
        team=deployment.team,
        period_start=end - timedelta(hours=1),
        period_end=end,
        amount=Decimal(amount),
        hourly_rate=Decimal(amount),
    )


def measure(deployment: Any, day: Any, measured: str, estimated: str) -> SpendDay:
    return SpendDay.objects.create(
        deployment=deployment,
        team=deployment.team,
        day=day,
        source="cloud-run-instance-time",
        billed_seconds=Decimal(3600),
        unit_price=Decimal("0.001"),
        price_version="2026-11-22",
        measured=Decimal(measured),
        estimated=Decimal(estimated),
        measured_through=NOW,
        final=True,
        read_at=NOW,
    )


def shown(html: str, key: str, within: str = "") -> list[str]:
    """Every figure the page marks data-spend=`key` (inside the element `within` starts)."""
    if within:
        html = html[html.index(within) :]
    return re.findall(rf'data-spend="{key}">\$?([^<\s]+)', html)


def test_the_team_pages_spend_figures_agree(client, team, deployer):
    both: Any = DeploymentFactory(team=team, requested_by=deployer, slug="both", status="ready")
    estimated: Any = DeploymentFactory(team=team, requested_by=deployer, slug="est", status="ready")
    earlier = NOW - timedelta(days=3)
    accruals = [
        accrue(both, earlier.replace(hour=10), "1.1111"),  # replaced by the measurement
        accrue(both, earlier.replace(hour=11), "1.3089"),
        accrue(both, NOW.replace(hour=9), "0.4444"),  # today: not measured yet
        accrue(estimated, NOW.replace(hour=10), "0.9876"),
        accrue(estimated, (NOW - timedelta(days=40)).replace(hour=10), "7.00"),  # earlier month
    ]
    ledger = [
        measure(both, earlier.date(), measured="9.24", estimated="2.10")
    ]  # its own estimate differs from the accruals

    # Expected, from the rows above: a measured day counts its measurement, any other day
    # of this month what was accrued.
    measured_days = {(row.deployment_id, row.day) for row in ledger}
    month = [a for a in accruals if a.period_end.date().replace(day=1) == NOW.date().replace(day=1)]
    unmeasured = [a for a in month if (a.deployment_id, a.period_end.date()) not in measured_days]
    per_deployment = {
        d.pk: (
            sum((r.measured for r in ledger if r.deployment_id == d.pk), Decimal(0)),
            sum((a.amount for a in unmeasured if a.deployment_id == d.pk), Decimal(0)),
        )
        for d in (both, estimated)
    }
    per_day: dict[Any, Decimal] = {}
    for row in ledger:
        per_day[row.day] = per_day.get(row.day, Decimal(0)) + row.measured
    for a in unmeasured:
        per_day[a.period_end.date()] = per_day.get(a.period_end.date(), Decimal(0)) + a.amount
    measured_total = sum((m for m, _ in per_deployment.values()), Decimal(0))
    estimated_total = sum((e for _, e in per_deployment.values()), Decimal(0))

    client.force_login(deployer)
    html = unescape(client.get(reverse("team-detail", args=[team.slug])).content.decode())

    assert shown(html, "month-to-date") == [usd(measured_total + estimated_total)[1:]]
    assert shown(html, "measured")[0] == usd(measured_total)[1:]
    assert shown(html, "estimated")[0] == usd(estimated_total)[1:]
    table = '<table id="spent-by-deployment"'
    for pk, (measured, est) in per_deployment.items():
        row = f'data-deployment="{pk}"'
        assert shown(html, "total", row)[0] == usd(measured + est)[1:]
        assert shown(html, "measured", row)[0] == usd(measured)[1:]
        assert shown(html, "estimated", row)[0] == usd(est)[1:]
    assert html.index(f'data-deployment="{both.pk}"') > html.index(table)
    # The measured section's total is the measured part of the month to date.
    assert shown(html, "measured", 'id="measured-spend"')[0] == usd(measured_total)[1:]

    chart = json.loads(re.search(r'id="spend-chart"[^>]*>(.*?)</script>', html, re.S).group(1))
    series = {s["label"]: s["values"] for s in chart["series"]}
    for day, total in per_day.items():
        i = day.day - 1
        assert round(series["measured"][i] + series["estimated"][i], 2) == float(usd(total)[1:])
    assert sum(chart["values"]) == pytest.approx(float(measured_total + estimated_total), abs=0.01)


def test_a_projection_over_the_budget_is_flagged(client, team, deployer):
    team.monthly_budget = Decimal("2000")
    team.save()
    deployment: Any = DeploymentFactory(team=team, requested_by=deployer, status="ready")
    accrue(deployment, NOW, "1.00")
    client.force_login(deployer)
    url = reverse("team-detail", args=[team.slug])

    deployment.estimate = {"monthly": "1000", "average_hourly": "1.37"}
    deployment.save()
    assert "data-projection-over-budget" not in client.get(url).content.decode()

    deployment.estimate = {"monthly": "13379", "average_hourly": "18.33"}
    deployment.save()
    html = client.get(url).content.decode()
    assert "data-projection-over-budget" in html
    assert "exceeds the budget" in html
