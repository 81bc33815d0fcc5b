"""A deployment's instance-second at today's prices (the active price table), and the
smallest shape its model fits on the same target: what the savings on the team page use."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from deployments.pricing.estimator import SECONDS_PER_HOUR, Estimate
from deployments.services.comparison import model_sizes
from deployments.services.prices import price_table_active
from deployments.targets import spec_for, target_for


@dataclass(frozen=True)
class InstancePrices:
    current: Decimal  # one instance of the deployment's own shape, per second
    smallest: Decimal  # one instance of the smallest shape the model fits, per second
    smallest_label: str


def _per_second(estimate: Estimate) -> Decimal:
    return sum((cost for _, cost in estimate.lines), Decimal(0)) / SECONDS_PER_HOUR


def instance_second_prices(
    *, deployment: Any, prices: dict[str, Any] | None = None
) -> InstancePrices:
    """At `prices` (a price table's data; the active one's when not given)."""
    prices = prices or price_table_active().data
    target = target_for(deployment)
    busy = Decimal(deployment.busy_hours_per_day)
    current = _per_second(target.estimate(spec_for(deployment), prices, busy))
    # Without a spec, a target prices the smallest shape its seed runs the model on.
    option = target.compare(model_sizes(deployment.model), prices, busy)
    if option is None or option.estimate is None or option.estimate.unit != "instance-hour":
        return InstancePrices(current, current, "")
    return InstancePrices(current, _per_second(option.estimate), option.hardware)
