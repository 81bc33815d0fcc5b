"""What a token really cost: measured spend ÷ metered tokens, per deployment, team and model,
and what idle deployments would have saved scaled to zero or on a smaller shape.

Spend and tokens come from the same days: the ledger's measured days (metering.models.
SpendDay) and the playground's usage records (requests through the proxy, counted by the
endpoint or estimated) created on those days. Input and output are each priced with the
whole spend (the GPU is billed whatever it does): "per million input tokens" is what a
million prompt tokens cost when nothing else is counted, likewise for output.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from deployments.models import Deployment
from deployments.pricing.estimator import cents
from metering.models import SpendDay
from metering.prices_today import instance_second_prices
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


def _days(rows: Any) -> dict[int, dict[date, SpendDay]]:
    by_deployment: dict[int, dict[date, SpendDay]] = defaultdict(dict)
    for row in rows:
        by_deployment[row.deployment_id][row.day] = row
    return by_deployment


def _tokens_by_day(deployment_ids: list[int]) -> dict[tuple[int, date], tuple[int, int]]:
    rows = (
        UsageRecord.objects.filter(deployment_id__in=deployment_ids)
        .annotate(day=TruncDate("created_at"))
        .values("deployment_id", "day")
        .annotate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
    )
    return {(r["deployment_id"], r["day"]): (r["prompt"] or 0, r["completion"] or 0) for r in rows}


def token_cost(*, deployment: Any) -> TokenCost:
    """Every measured day of the deployment and the tokens it served on them."""
    return token_costs(SpendDay.objects.filter(deployment=deployment)).get(
        deployment.pk, TokenCost(Decimal(0), 0, 0)
    )


def token_costs(rows: Any) -> dict[int, TokenCost]:
    """deployment id → its TokenCost over the given ledger rows."""
    days = _days(rows)
    tokens = _tokens_by_day(list(days))
    out = {}
    for pk, by_day in days.items():
        served = [tokens.get((pk, day), (0, 0)) for day in by_day]
        out[pk] = TokenCost(
            measured=sum((row.measured for row in by_day.values()), Decimal(0)),
            input_tokens=sum(p for p, _ in served),
            output_tokens=sum(c for _, c in served),
        )
    return out


def _month(team: Any, now: datetime | None) -> Any:
    now = now or timezone.now()
    return SpendDay.objects.filter(
        team=team, day__gte=now.date().replace(day=1), day__lte=now.date()
    )


def token_costs_ranked(*, team: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The team's deployments this month, the dearest per token first (no tokens: first)."""
    costs = token_costs(_month(team, now))
    deployments = Deployment.objects.in_bulk(list(costs))
    rows = [{"deployment": deployments[pk], "cost": cost} for pk, cost in costs.items()]
    return sorted(
        rows,
        key=lambda r: (
            r["cost"].per_million_tokens is not None,
            -(r["cost"].per_million_tokens or 0),
            -r["cost"].measured,
        ),
    )


def token_costs_by_model(*, team: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The same, summed per model (its catalog key)."""
    costs = token_costs(_month(team, now))
    models = dict(Deployment.objects.filter(pk__in=list(costs)).values_list("pk", "model"))
    summed: dict[str, TokenCost] = {}
    for pk, cost in costs.items():
        seen = summed.get(models[pk], TokenCost(Decimal(0), 0, 0))
        summed[models[pk]] = TokenCost(
            seen.measured + cost.measured,
            seen.input_tokens + cost.input_tokens,
            seen.output_tokens + cost.output_tokens,
        )
    return [{"model": model, "cost": cost} for model, cost in sorted(summed.items())]


def team_token_cost(*, team: Any, now: datetime | None = None) -> TokenCost:
    costs = token_costs(_month(team, now)).values()
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


def idle_deployments(*, team: Any, now: datetime | None = None) -> list[IdleDeployment]:
    """The team's deployments billed this month on days they served no request."""
    rows = list(_month(team, now).filter(billed_seconds__gt=0))
    days = _days(rows)
    served = _tokens_by_day(list(days))
    deployments = Deployment.objects.in_bulk(list(days))
    out = []
    for pk, by_day in days.items():
        idle = [row for day, row in by_day.items() if (pk, day) not in served]
        if not idle:
            continue
        deployment = deployments[pk]
        idle_seconds = sum((row.billed_seconds for row in idle), Decimal(0))
        billed = sum((row.billed_seconds for row in by_day.values()), Decimal(0))
        prices = instance_second_prices(deployment=deployment)
        out.append(
            IdleDeployment(
                deployment=deployment,
                idle_days=len(idle),
                idle_seconds=idle_seconds,
                idle_measured=sum((row.measured for row in idle), Decimal(0)),
                scale_to_zero_saves=cents(idle_seconds * prices.current),
                smaller_shape=prices.smallest_label,
                smaller_shape_saves=cents(
                    billed * max(prices.current - prices.smallest, Decimal(0))
                ),
            )
        )
    return sorted(out, key=lambda i: -i.idle_measured)
