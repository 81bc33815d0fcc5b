"""Money as people read it: `{{ amount|usd }}` → $1,234.57 (rounded half up);
`{{ low|usd_range:high }}` → $1.20–$3.40, or one figure when the ends are equal."""

from typing import Any

from django import template

from deployments.pricing import money

register = template.Library()


@register.filter
def usd(amount: Any, places: int = 2) -> str:
    return money.usd(amount, places)


@register.filter
def usd_range(low: Any, high: Any) -> str:
    return money.usd_range(low, high)
