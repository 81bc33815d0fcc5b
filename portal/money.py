"""Money as people read it, one way everywhere: $1,037.27 (rounded half up to the cent).

The pages (the `usd` template filter, the audit trail) and the services' sentences
("$345.76/month is over the team's limit...") both format through here."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


def usd(amount: Any, places: int = 2) -> str:
    """`amount` as dollars with thousands separators; "" for what is not a number."""
    try:
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-int(places)), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    return f"${value:,}"


def usd_range(low: Any, high: Any, places: int = 2) -> str:
    """ "$1.20–$3.40", or one figure when both ends read the same."""
    shown_low, shown_high = usd(low, places), usd(high, places)
    return shown_low if shown_low == shown_high else f"{shown_low}–{shown_high}"
