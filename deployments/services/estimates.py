"""The estimate for a request, from the active price table; each target says what Google
bills it for (deployments/targets/<target>/, `estimate`)."""

from decimal import Decimal
from typing import Any

from deployments.pricing.estimator import Estimate
from deployments.services.prices import price_table_active
from deployments.targets import target_get


def estimate_for(
    *, target: str, spec: Any, busy_hours_per_day: Decimal, prices: dict[str, Any] | None = None
) -> Estimate:
    prices = prices or price_table_active().data
    return target_get(target).estimate(spec, prices, busy_hours_per_day)
