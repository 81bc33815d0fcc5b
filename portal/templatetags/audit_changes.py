"""An audit row's before and after as people read them: one line per field that changed.

`{% for change in event|audit_changes %}` yields (field, before, after), nested objects
flattened to dotted names ("spec.max_instances"), statuses by their labels.
"""

from typing import Any

from django import template

from portal.audit import status_labels

register = template.Library()

# Nested values deeper than this are shown whole: past it a line stops being readable.
DEPTH = 2


def _flat(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    if isinstance(value, dict) and depth < DEPTH:
        rows: dict[str, Any] = {}
        for key, item in value.items():
            rows.update(_flat(item, f"{prefix}{key}.", depth + 1))
        return rows
    return {prefix.rstrip("."): value}


def _shown(field: str, value: Any) -> str:
    if value is None:
        return "—"
    labels = status_labels()
    if field.endswith("status") and value in labels:
        return str(labels[value])
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@register.filter
def audit_changes(event: Any) -> list[tuple[str, str, str]]:
    before = _flat(event.before) if event.before is not None else {}
    after = _flat(event.after) if event.after is not None else {}
    rows = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if old != new:
            label = field.replace("_", " ") or "value"
            rows.append((label, _shown(field, old), _shown(field, new)))
    return rows
