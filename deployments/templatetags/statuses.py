"""A deployment status by its label (`{{ "torn_down"|status_label }}` → Torn down), for
rows that carry the stored value rather than a model (aggregates, audit details)."""

from django import template

from deployments.choices import Status

register = template.Library()
LABELS = dict(Status.choices)


@register.filter
def status_label(value: str) -> str:
    return str(LABELS.get(value, value))
