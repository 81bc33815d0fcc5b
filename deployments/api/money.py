"""Money in API responses: a decimal string with two places ("1037.27"), always.

Estimates are stored at full precision (deployment rows keep them, never recomputed);
only what the API shows is rounded, half up, to the cent.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ESTIMATE_MONEY = ("hourly_min", "hourly_max", "monthly")


def money(value: Decimal | str | int) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def estimate_out(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored estimate (Estimate.as_json) as the API shows it."""
    if data is None:
        return None
    shown = {**data, **{key: money(data[key]) for key in ESTIMATE_MONEY if key in data}}
    shown["lines"] = [[label, money(cost)] for label, cost in data.get("lines", [])]
    return shown


def option_out(data: dict[str, Any]) -> dict[str, Any]:
    """A comparison row (TargetOption.as_json) as the API shows it."""
    return {**data, "estimate": estimate_out(data.get("estimate"))}
