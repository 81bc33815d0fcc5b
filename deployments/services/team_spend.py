"""How much a team has spent this month and will by its end, for the budget check.

The deployments app knows only its estimates (the spend clock's accruals). The metering
app, when installed, knows what Google measured and sets a better source at start-up
(metering/apps.py), so the approval policy weighs measured spend without this app
importing metering.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from deployments.selectors import spend_month_to_date, spend_projected_month


class TeamSpend(Protocol):
    @property
    def month_to_date(self) -> Decimal: ...

    @property
    def projected(self) -> Decimal: ...

    @property
    def basis(self) -> str:
        """What the month to date rests on: "estimated", "measured" or both."""
        ...


class _Estimated:
    """Spend as the estimates accrued it (no measurement)."""

    def __init__(self, team: Any, now: datetime) -> None:
        self.month_to_date = spend_month_to_date(team=team, now=now)
        self.projected = spend_projected_month(team=team, now=now)
        self.basis = "estimated"


_source: Callable[..., TeamSpend] = _Estimated


def set_team_spend_source(source: Callable[..., TeamSpend]) -> None:
    """Use `source(team=..., now=...)` for every team's spend from now on."""
    global _source
    _source = source


def team_spend(*, team: Any, now: datetime) -> TeamSpend:
    return _source(team=team, now=now)
