"""Money as people read it, one way everywhere: $1,037.27 (rounded half up to the cent).

The pages (the `usd` template filter) and the services' sentences ("$345.76/month is over
the team's limit...") both format through here."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


def usd(amount: Any, places: int = 2) -> str:
    """`amount` as dollars with thousands separators; "" for what is not a number."""
    try:
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-int(places)), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    return f"${value:,}"
