"""Money as people read it: `{{ amount|usd }}` → $1,234.57 (rounded half up)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def usd(amount: Any, places: int = 2) -> str:
    try:
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-int(places)), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    return f"${value:,}"
