"""A team's month against its budget, on measured spend where Google measured it and on
the estimate elsewhere, and which of the two each figure is.

Month to date = what Google measured on the days it measured (the ledger) + what the
estimate accrued on everything else (deployments without a meter, days not read yet).
The projection adds what the running deployments will cost by month end at their
estimates' rates: the future has no measurement. The budget warning, the team and spend
pages and the approval policy's budget check all read it here.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from deployments.selectors import spend_month_to_date, spend_projected_month
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
    now = now or timezone.now()
    accrued = spend_month_to_date(team=team, now=now)
    days = SpendDay.objects.filter(
        team=team, day__gte=now.date().replace(day=1), day__lte=now.date()
    ).aggregate(measured=Sum("measured"), estimated=Sum("estimated"))
    measured = days["measured"] or Decimal(0)
    # The measured days' own estimate is replaced by their measurement.
    estimated = max(accrued - (days["estimated"] or Decimal(0)), Decimal(0))
    coming = spend_projected_month(team=team, now=now) - accrued
    return BudgetSpend(measured=measured, estimated=estimated, coming=coming)
