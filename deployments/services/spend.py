"""What deployments have cost: accrued by the reconciler at the approved rate.

The billing clock of a deployment starts when the step that creates its billed
resource succeeds and stops when the step that deletes it succeeds (Step.billing in
the plan). In between, the reconciler adds one CostAccrual per tick at the average
hourly rate of the estimate the deployment was approved with. Cloud Run bills real
instance-seconds, which only Cloud Monitoring knows; this is the estimate's view of it.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from deployments.choices import TERMINAL_STATES
from deployments.models import CostAccrual, Deployment
from deployments.pricing.estimator import Estimate

SECONDS_PER_HOUR = Decimal(3600)


def _hourly_rate(deployment: Deployment) -> Decimal:
    if not deployment.estimate:
        return Decimal(0)
    return Estimate.from_json(deployment.estimate).average_hourly


def spend_accrue_deployment(*, deployment: Deployment, until: datetime) -> CostAccrual | None:
    """Accrue from where the clock stood to `until`; the caller holds the row lock."""
    start = deployment.cost_accrued_until
    if start is None or until <= start:
        return None
    rate = _hourly_rate(deployment)
    amount = rate * Decimal((until - start).total_seconds()) / SECONDS_PER_HOUR
    accrual = CostAccrual.objects.create(
        deployment=deployment,
        team_id=deployment.team_id,
        period_start=start,
        period_end=until,
        amount=amount,
        hourly_rate=rate,
    )
    deployment.cost_accrued_until = until
    deployment.save(update_fields=["cost_accrued_until", "updated_at"])
    return accrual


def spend_accrue(*, now: datetime | None = None) -> int:
    """Accrue every deployment whose billing clock runs. Returns how many accrued."""
    now = now or timezone.now()
    accrued = 0
    ids = Deployment.objects.filter(cost_accrued_until__isnull=False).values_list("pk", flat=True)
    for pk in ids:
        with transaction.atomic():
            deployment = (
                Deployment.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if deployment and spend_accrue_deployment(deployment=deployment, until=now):
                accrued += 1
    return accrued


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spend_month_to_date(
    *, team: Any = None, deployment: Any = None, now: datetime | None = None
) -> Decimal:
    accruals = CostAccrual.objects.filter(period_end__gte=_month_start(now or timezone.now()))
    if team is not None:
        accruals = accruals.filter(team=team)
    if deployment is not None:
        accruals = accruals.filter(deployment=deployment)
    return accruals.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def spend_by_deployment(*, team: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    rows = (
        CostAccrual.objects.filter(team=team, period_end__gte=_month_start(now or timezone.now()))
        .values("deployment_id", "deployment__slug", "deployment__status")
        .annotate(total=Sum("amount"))
        .order_by("-total")
    )
    return list(rows)


def spend_by_day(*, team: Any = None, now: datetime | None = None) -> list[dict[str, Any]]:
    accruals = CostAccrual.objects.filter(period_end__gte=_month_start(now or timezone.now()))
    if team is not None:
        accruals = accruals.filter(team=team)
    return list(
        accruals.annotate(day=TruncDate("period_end"))
        .values("day")
        .annotate(total=Sum("amount"))
        .order_by("day")
    )


def spend_projected_month(*, team: Any, now: datetime | None = None) -> Decimal:
    """Month-to-date spend plus what the team's running deployments will add by month end."""
    now = now or timezone.now()
    hours_left = hours_left_in_month(now)
    running = (
        Deployment.objects.filter(team=team)
        .exclude(estimate=None)
        .exclude(status__in=[s.value for s in TERMINAL_STATES])
    )
    coming = sum((_hourly_rate(d) * hours_left for d in running), Decimal(0))
    return spend_month_to_date(team=team, now=now) + coming


def hours_left_in_month(now: datetime) -> Decimal:
    next_month = (_month_start(now) + timedelta(days=32)).replace(day=1)
    return Decimal((next_month - now).total_seconds()) / SECONDS_PER_HOUR
