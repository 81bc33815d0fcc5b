"""Chart data for the pages, drawn in the browser by Chart.js (static/charts.js).

Every day of the month is on the axis, spent or not, so the first day of a month is one
bar among thirty rather than one bar filling the chart.
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def _month_days(today: date) -> list[date]:
    last = calendar.monthrange(today.year, today.month)[1]
    return [today.replace(day=n) for n in range(1, last + 1)]


def _cents(amount: Any) -> float:
    return float(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))


def daily_spend_chart(*, days: list[dict[str, Any]], today: date, title: str) -> dict[str, Any]:
    """A bar chart of spend per day this month; `days` rows of `day` and `total`."""
    spent = {row["day"]: row["total"] for row in days}
    month = _month_days(today)
    return {
        "type": "bar",
        "title": title,
        "labels": [d.strftime("%b %-d") for d in month],
        "values": [_cents(spent.get(d, 0)) for d in month],
        "x_title": "Day",
        "y_title": "Spend (USD)",
        "money": True,
    }


def daily_split_chart(
    *, days: dict[date, dict[str, Any]], parts: list[str], today: date, title: str
) -> dict[str, Any]:
    """Spend per day this month as stacked bars, one colour per part (`parts` names the
    keys of each day's amounts, e.g. measured and estimated), so every bar says what it is."""
    chart = daily_spend_chart(days=[], today=today, title=title)
    month = _month_days(today)
    chart["series"] = [
        {"label": part, "values": [_cents(days.get(d, {}).get(part, 0)) for d in month]}
        for part in parts
    ]
    chart["values"] = [
        round(sum(values), 2)
        for values in zip(*(s["values"] for s in chart["series"]), strict=True)
    ]
    return chart
