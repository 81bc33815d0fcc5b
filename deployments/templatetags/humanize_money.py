"""Money as people read it: `{{ amount|usd }}` → $1,234.57 (rounded half up)."""

from typing import Any

from django import template

from deployments.pricing import money

register = template.Library()


@register.filter
def usd(amount: Any, places: int = 2) -> str:
    return money.usd(amount, places)
