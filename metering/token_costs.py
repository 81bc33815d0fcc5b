"""What a token really cost: measured spend ÷ metered tokens, per deployment, team and model,
and what idle deployments would have saved scaled to zero or on a smaller shape.

Spend and tokens come from the same days: the ledger's measured days (metering.models.
SpendDay) and the playground's usage records (requests through the proxy, counted by the
endpoint or estimated) created on those days. Input and output are each priced with the
whole spend (the GPU is billed whatever it does): "per million input tokens" is what a
million prompt tokens cost when nothing else is counted, likewise for output.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, NullIf, Round

from deployments.models import Deployment
from deployments.pricing.estimator import cents
from deployments.services.prices import price_table_active
from metering.models import SpendDay
from metering.prices_today import instance_second_prices
from metering.selectors import month_days
from playground.models import UsageRecord

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class TokenCost:
    measured: Decimal
    input_tokens: int
    output_tokens: int

    def _per_million(self, tokens: int) -> Decimal | None:
        return cents(self.measured * MILLION / tokens) if tokens else None

    @property
    def per_million_input(self) -> Decimal | None:
        return self._per_million(self.input_tokens)

    @property
    def per_million_output(self) -> Decimal | None:
        return self._per_million(self.output_tokens)

    @property
    def per_million_tokens(self) -> Decimal | None:
        return self._per_million(self.input_tokens + self.output_tokens)


def _month(team: Any, now: datetime | None) -> QuerySet[SpendDay]:
    return month_days(now).filter(team=team)


def _served(field: str) -> Coalesce:
    """The tokens of `field` the row's deployment served on the row's day (0 if none)."""
    on_the_day = (
        UsageRecord.objects.filter(
            deployment_id=OuterRef("deployment_id"), created_at__date=OuterRef("day")
        )
        .order_by()
        .values("deployment_id")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(on_the_day), 0)


def _with_served(days: QuerySet[SpendDay]) -> QuerySet[Any]:
    """Ledger days, each with the tokens served on it."""
    return days.annotate(prompt=_served("prompt_tokens"), completion=_served("completion_tokens"))


def _month_served(team: Any, now: datetime | None) -> QuerySet[Any]:
    """The team's measured days this month, each with the tokens served on it."""
    return _with_served(_month(team, now))


_SUMS = {
    "spent": Sum("measured"),
    "input_tokens": Sum("prompt"),
    "output_tokens": Sum("completion"),
}


def ranked_token_costs(*, team: Any, now: datetime | None = None) -> QuerySet[Any]:
    """The team's deployments measured this month, the dearest per token first (those that
    served no token first, then the most measured): per deployment its measured spend and
    the input and output tokens served on its measured days, ranked and summed in SQL so
    that a page of them reads only its rows. `token_cost_of` makes each row a TokenCost."""
    per_million = Round(F("spent") * MILLION / NullIf(F("input_tokens") + F("output_tokens"), 0), 2)
    return (
        _month_served(team, now)
        .values("deployment_id")
        .annotate(**_SUMS)
        .annotate(per_million=per_million)
        .order_by(F("per_million").desc(nulls_first=True), "-spent", "deployment_id")
    )


def token_cost_of(row: dict[str, Any]) -> TokenCost:
    """A row of _SUMS (ranked_token_costs, token_costs_by_model, token_cost's aggregate)
    as its TokenCost; sums over no day are None."""
    return TokenCost(
        row["spent"] or Decimal(0), row["input_tokens"] or 0, row["output_tokens"] or 0
    )


def token_cost(*, deployment: Any) -> TokenCost:
    """Every measured day of the deployment and the tokens it served on them."""
    days = _with_served(SpendDay.objects.filter(deployment=deployment))
    return token_cost_of(days.aggregate(**_SUMS))


def token_costs_by_model(*, team: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The team's month of cost per token summed per model (its catalog key), by key."""
    rows = (
        _month_served(team, now)
        .values(model=F("deployment__model"))
        .annotate(**_SUMS)
        .order_by("model")
    )
    return [{"model": row["model"], "cost": token_cost_of(row)} for row in rows]


def summed_token_cost(costs: Iterable[TokenCost]) -> TokenCost:
    """The sum of several TokenCosts (the team's, from its models')."""
    costs = list(costs)
    return TokenCost(
        sum((c.measured for c in costs), Decimal(0)),
        sum(c.input_tokens for c in costs),
        sum(c.output_tokens for c in costs),
    )


@dataclass(frozen=True)
class IdleDeployment:
    deployment: Any
    idle_days: int
    idle_seconds: Decimal
    idle_measured: Decimal
    # At today's prices: scaled to zero, idle instances cost nothing.
    scale_to_zero_saves: Decimal
    # At today's prices, on the smallest shape the model fits, over every billed second.
    smaller_shape: str
    smaller_shape_saves: Decimal


def _billed(team: Any, now: datetime | None) -> QuerySet[SpendDay]:
    return _month(team, now).filter(billed_seconds__gt=0)


def idle_days(*, team: Any, now: datetime | None = None) -> QuerySet[Any]:
    """The team's deployments billed this month on days they served no request, the most
    measured while idle first: per deployment its idle days, their billed seconds and
    measured spend (summed in SQL). Whether a day served is asked once per day, a filter
    and not a condition of each sum."""
    served = UsageRecord.objects.filter(
        deployment_id=OuterRef("deployment_id"), created_at__date=OuterRef("day")
    )
    return (
        _billed(team, now)
        .filter(~Exists(served))
        .values("deployment_id")
        .annotate(
            idle_days=Count("id"),
            idle_seconds=Sum("billed_seconds"),
            idle_measured=Sum("measured"),
        )
        .order_by("-idle_measured", "deployment_id")
    )


def idle_savings(
    rows: Iterable[dict[str, Any]], *, team: Any, now: datetime | None = None
) -> list[IdleDeployment]:
    """What each of idle_days' rows would have saved, at today's prices (read once), the
    seconds billed on every day read for these rows only."""
    rows = list(rows)
    ids = [row["deployment_id"] for row in rows]
    deployments = Deployment.objects.in_bulk(ids)
    billed = dict(
        _billed(team, now)
        .filter(deployment_id__in=ids)
        .values("deployment_id")
        .annotate(total=Sum("billed_seconds"))
        .values_list("deployment_id", "total")
    )
    table = price_table_active().data
    out = []
    for row in rows:
        deployment = deployments[row["deployment_id"]]
        prices = instance_second_prices(deployment=deployment, prices=table)
        out.append(
            IdleDeployment(
                deployment=deployment,
                idle_days=row["idle_days"],
                idle_seconds=row["idle_seconds"],
                idle_measured=row["idle_measured"],
                scale_to_zero_saves=cents(row["idle_seconds"] * prices.current),
                smaller_shape=prices.smallest_label,
                smaller_shape_saves=cents(
                    billed[row["deployment_id"]] * max(prices.current - prices.smallest, Decimal(0))
                ),
            )
        )
    return out
