"""An audit row's before and after as people read them: one line per field that changed.

`{% for change in event|audit_changes %}` yields (field, before, after), nested objects
flattened to dotted names ("spec.max_instances"), statuses by their labels, money as the
pages show it ($345.76, through the one formatter) and other numbers without exponents
or trailing zeros ("0E-7" → 0.0000001), lists and deeper objects as plain text.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from portal.audit import status_labels
from portal.money import usd

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


# A field whose name holds one of these words is an amount of dollars.
MONEY = re.compile(r"(monthly|hourly|budget|cost|amount|price|spend|fee|spent|projected)")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# Numbers up to this many digits either side of the point are written out; beyond it (a
# token name of 40 nines, a hex prefix like "1e999999") as they were recorded, which also
# keeps quantize within Decimal's 28-digit precision.
DIGITS = 20


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    if isinstance(value, str) and not NUMBER.fullmatch(value):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or (number and abs(number.adjusted()) > DIGITS):
        return None
    return number


def _plain(field: str, value: Any) -> str:
    """One value as text: money in dollars, numbers plainly, containers item by item."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain(f'{field}.{key}', item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(
            " ".join(_plain(field, part) for part in item)
            if isinstance(item, list | tuple)
            else _plain(field, item)
            for item in value
        )
    number = _number(value)
    if number is None:
        return str(value)
    if MONEY.search(field.lower()):
        # Cents, or the fourth place for sub-cent unit prices (per second, per token).
        return usd(number, 2 if abs(number) >= Decimal("0.01") or not number else 4)
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def _shown(field: str, value: Any) -> str:
    if value is None:
        return "—"
    labels = status_labels()
    if field.endswith("status") and value in labels:
        return str(labels[value])
    return _plain(field, value)


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
