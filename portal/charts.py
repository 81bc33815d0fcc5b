"""Chart data for the pages, drawn in the browser by Chart.js (static/charts.js).

Every day of the month is on the axis, spent or not, so the first day of a month is one
bar among thirty rather than one bar filling the chart.
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def daily_spend_chart(*, days: list[dict[str, Any]], today: date, title: str) -> dict[str, Any]:
    """A bar chart of spend per day this month; `days` as spend_by_day() returns them."""
    spent = {row["day"]: row["total"] for row in days}
    last = calendar.monthrange(today.year, today.month)[1]
    month = [today.replace(day=n) for n in range(1, last + 1)]
    return {
        "type": "bar",
        "title": title,
        "labels": [d.strftime("%b %-d") for d in month],
        "values": [
            float(Decimal(spent.get(d, 0)).quantize(CENT, rounding=ROUND_HALF_UP)) for d in month
        ],
        "x_title": "Day",
        "y_title": "Spend (USD)",
        "money": True,
    }
