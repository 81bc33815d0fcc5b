"""A team's month against its budget, on measured spend where Google measured it and on
the estimate elsewhere, and which of the two each figure is: the one place every spend
figure of the month is read, so the pages' figures agree.

A deployment's day is measured when the ledger has a row for it (SpendDay): its figure is
what Google measured, and what the estimate accrued that day is left out. Every other day
is estimated: what the spend clock accrued (CostAccrual, dated by the end of its period).
The month to date, the spend per day, the spend per deployment and the measured total are
sums of those same day figures, so they add up. The projection adds what the running
deployments will cost by month end at their estimates' rates: the future has no
measurement. The budget warning, the team and spend pages and the approval policy's budget
check all read it here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from deployments.models import CostAccrual
from deployments.selectors import spend_coming_by_team
from metering.models import SpendDay
from metering.selectors import month_days, month_range
from portal.selectors import budget_status

ZERO = Decimal(0)


@dataclass(frozen=True)
class SpendFigures:
    """One slice of the month (a day, a deployment): measured and estimated parts."""

    measured: Decimal = ZERO
    estimated: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.measured + self.estimated

    @property
    def basis(self) -> str:
        """ "measured", "estimated", or "measured and estimated"."""
        if self.measured and self.estimated:
            return "measured and estimated"
        return "measured" if self.measured else "estimated"


@dataclass(frozen=True)
class BudgetSpend(SpendFigures):
    """A team's month: its SpendFigures (measured on the days Google measured, estimated
    where nothing was) and what is still coming."""

    coming: Decimal = ZERO  # by month end, at the running deployments' estimated rates

    @property
    def month_to_date(self) -> Decimal:
        return self.total

    @property
    def projected(self) -> Decimal:
        return self.month_to_date + self.coming


def _measured_days(now: datetime, team_ids: list[int] | None) -> QuerySet[SpendDay]:
    days = month_days(now)
    return days if team_ids is None else days.filter(team_id__in=team_ids)


def _estimated_accruals(now: datetime, team_ids: list[int] | None) -> QuerySet[CostAccrual]:
    """This month's accruals on the deployment-days Google did not measure."""
    measured = SpendDay.objects.filter(deployment_id=OuterRef("deployment_id"), day=OuterRef("day"))
    first, today = month_range(now)
    accruals = CostAccrual.objects.annotate(day=TruncDate("period_end")).filter(
        day__gte=first, day__lte=today
    )
    if team_ids is not None:
        accruals = accruals.filter(team_id__in=team_ids)
    return accruals.filter(~Exists(measured))


def _sums(
    key: str, *, now: datetime, team_ids: list[int] | None
) -> tuple[dict[Any, Decimal], dict[Any, Decimal]]:
    """(key value → measured, key value → estimated) this month, one query each."""
    measured = _measured_days(now, team_ids).values(key).annotate(total=Sum("measured"))
    estimated = _estimated_accruals(now, team_ids).values(key).annotate(total=Sum("amount"))
    return dict(measured.values_list(key, "total")), dict(estimated.values_list(key, "total"))


def _split(key: str, *, now: datetime, team_ids: list[int] | None) -> dict[Any, SpendFigures]:
    """key value → its month's SpendFigures, one query for each part."""
    measured, estimated = _sums(key, now=now, team_ids=team_ids)
    return {
        value: SpendFigures(
            measured=measured.get(value) or ZERO, estimated=estimated.get(value) or ZERO
        )
        for value in {*measured, *estimated}
    }


def spend_per_day(*, team: Any = None, now: datetime | None = None) -> dict[date, SpendFigures]:
    """Each day of this month with spend → its figures, for a team or every team."""
    now = now or timezone.now()
    return _split("day", now=now, team_ids=None if team is None else [team.pk])


@dataclass(frozen=True)
class TeamMonth:
    """A team's month against its budget and the same figures per deployment."""

    budget: BudgetSpend
    # (deployment id, measured, estimated) of the deployments that cost something,
    # dearest first; `figures_of` makes a row its SpendFigures, for the rows a page shows
    # only (at 10,000 deployments, building them all cost more than the queries).
    per_deployment: list[tuple[int, Decimal, Decimal]]


def team_month(*, team: Any, now: datetime | None = None) -> TeamMonth:
    """budget_spend and the spend per deployment of one team (the team page) from the same
    per-deployment sums: the team's figures are their totals, so they add up and the month's
    accruals are read once, not twice."""
    now = now or timezone.now()
    measured, estimated = _sums("deployment_id", now=now, team_ids=[team.pk])
    rows = [
        (pk, measured.get(pk) or ZERO, estimated.get(pk) or ZERO) for pk in {*measured, *estimated}
    ]
    rows.sort(key=lambda row: (-(row[1] + row[2]), row[0]))
    budget = BudgetSpend(
        measured=sum((row[1] for row in rows), ZERO),
        estimated=sum((row[2] for row in rows), ZERO),
        coming=spend_coming_by_team(team_ids=[team.pk], now=now).get(team.pk, ZERO),
    )
    return TeamMonth(budget=budget, per_deployment=rows)


def figures_of(row: tuple[int, Decimal, Decimal]) -> SpendFigures:
    """A row of TeamMonth.per_deployment as its SpendFigures."""
    return SpendFigures(measured=row[1], estimated=row[2])


def budget_spend(*, team: Any, now: datetime | None = None) -> BudgetSpend:
    return budget_spends(teams=[team], now=now)[team.pk]


def budget_spends(*, teams: Iterable[Any], now: datetime | None = None) -> dict[int, BudgetSpend]:
    """team id → its BudgetSpend, for any number of teams in three queries."""
    now = now or timezone.now()
    ids = [team.pk for team in teams]
    split = _split("team_id", now=now, team_ids=ids)
    coming = spend_coming_by_team(team_ids=ids, now=now)
    spends = {}
    for pk in ids:
        figures = split.get(pk, SpendFigures())
        spends[pk] = BudgetSpend(figures.measured, figures.estimated, coming.get(pk, ZERO))
    return spends


def against_budget(team: Any, spend: BudgetSpend) -> dict[str, Any]:
    """A team's month against its budget: budget_status (spent, ratio, close, the
    projection and whether it goes over) with the team and the basis."""
    status = budget_status(
        budget=team.monthly_budget, spent=spend.month_to_date, projected=spend.projected
    )
    return {"team": team, "basis": spend.basis, **status}


def teams_against_budget(
    *, teams: Iterable[Any], now: datetime | None = None
) -> list[dict[str, Any]]:
    """against_budget of each team, in the order given, read for every team at once."""
    teams = list(teams)
    spends = budget_spends(teams=teams, now=now)
    return [against_budget(team, spends[team.pk]) for team in teams]


def closest_to_budget_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """teams_against_budget's rows, those close to or projected over their budget first,
    then by the share used, then by name: the spend page's order."""
    return sorted(
        rows,
        key=lambda r: (
            not r["close"] and not r["projected_over"],
            -(r["ratio"] or 0),
            r["team"].name,
        ),
    )
