"""A team's month against its budget, on measured spend where Google measured it and on
the estimate elsewhere, and which of the two each figure is.

Month to date = what Google measured on the days it measured (the ledger) + what the
estimate accrued on everything else (deployments without a meter, days not read yet).
The projection adds what the running deployments will cost by month end at their
estimates' rates: the future has no measurement. The budget warning, the team and spend
pages and the approval policy's budget check all read it here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from deployments.selectors import spend_coming_by_team, spend_month_to_date_by_team
from metering.models import SpendDay


@dataclass(frozen=True)
class BudgetSpend:
    measured: Decimal  # this month, on the days Google measured
    estimated: Decimal  # this month, from the estimate where nothing was measured
    coming: Decimal  # by month end, at the running deployments' estimated rates

    @property
    def month_to_date(self) -> Decimal:
        return self.measured + self.estimated

    @property
    def projected(self) -> Decimal:
        return self.month_to_date + self.coming

    @property
    def basis(self) -> str:
        """ "measured", "estimated", or "measured and estimated"."""
        if self.measured and self.estimated:
            return "measured and estimated"
        return "measured" if self.measured else "estimated"


def budget_spend(*, team: Any, now: datetime | None = None) -> BudgetSpend:
    return budget_spends(teams=[team], now=now)[team.pk]


def budget_spends(*, teams: Iterable[Any], now: datetime | None = None) -> dict[int, BudgetSpend]:
    """team id → its BudgetSpend, for any number of teams in three queries."""
    now = now or timezone.now()
    ids = [team.pk for team in teams]
    accrued = spend_month_to_date_by_team(team_ids=ids, now=now)
    coming = spend_coming_by_team(team_ids=ids, now=now)
    days = {
        row["team_id"]: row
        for row in SpendDay.objects.filter(
            team_id__in=ids, day__gte=now.date().replace(day=1), day__lte=now.date()
        )
        .values("team_id")
        .annotate(measured=Sum("measured"), estimated=Sum("estimated"))
    }
    spends = {}
    for pk in ids:
        measured_days = days.get(pk, {})
        team_accrued = accrued.get(pk, Decimal(0))
        spends[pk] = BudgetSpend(
            measured=measured_days.get("measured") or Decimal(0),
            # The measured days' own estimate is replaced by their measurement.
            estimated=max(
                team_accrued - (measured_days.get("estimated") or Decimal(0)), Decimal(0)
            ),
            coming=coming.get(pk, Decimal(0)),
        )
    return spends
