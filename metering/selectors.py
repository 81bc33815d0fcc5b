"""Reads of the measured spend ledger the pages share: estimated, measured and the
difference, per deployment or team, this month."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from metering.models import SpendDay


@dataclass(frozen=True)
class SpendComparison:
    """Over the days Google measured: what the estimate accrued and what Google billed."""

    days: int
    estimated: Decimal
    measured: Decimal

    @property
    def difference(self) -> Decimal:
        """Measured minus estimated: positive when the deployment cost more than planned."""
        return self.measured - self.estimated


def month_range(now: datetime | None = None) -> tuple[date, date]:
    """This month's first day and today: the days every figure of the month covers."""
    today = (now or timezone.now()).date()
    return today.replace(day=1), today


def month_days(now: datetime | None = None) -> QuerySet[SpendDay]:
    """This month's measured days (to today), of every team: the one reading of the month's
    ledger the spend, budget and token-cost figures start from."""
    first, today = month_range(now)
    return SpendDay.objects.filter(day__gte=first, day__lte=today)


def _comparison(rows: QuerySet[SpendDay]) -> SpendComparison:
    sums = rows.aggregate(days=Count("id"), estimated=Sum("estimated"), measured=Sum("measured"))
    return SpendComparison(
        days=sums["days"] or 0,
        estimated=sums["estimated"] or Decimal(0),
        measured=sums["measured"] or Decimal(0),
    )


def spend_compared(
    *, deployment: Any = None, team: Any = None, now: datetime | None = None
) -> SpendComparison:
    """This month's measured days of a deployment, a team, or everything."""
    rows = month_days(now)
    if deployment is not None:
        rows = rows.filter(deployment=deployment)
    if team is not None:
        rows = rows.filter(team=team)
    return _comparison(rows)


def spend_compared_by_deployment(
    *, team: Any, deployment_ids: Iterable[int] | None = None, now: datetime | None = None
) -> dict[int, Any]:
    """deployment id → its SpendComparison this month, for the team page's table (the
    rows of `deployment_ids` only, when given: the page's)."""
    days = month_days(now).filter(team=team)
    if deployment_ids is not None:
        days = days.filter(deployment_id__in=list(deployment_ids))
    rows = days.values("deployment_id").annotate(
        days=Count("id"), estimated=Sum("estimated"), measured=Sum("measured")
    )
    return {
        row["deployment_id"]: SpendComparison(
            days=row["days"], estimated=row["estimated"], measured=row["measured"]
        )
        for row in rows
    }


def spend_days(*, deployment: Any, limit: int = 31) -> QuerySet[SpendDay]:
    """The deployment's latest measured days, newest first."""
    return SpendDay.objects.filter(deployment=deployment).order_by("-day")[:limit]
