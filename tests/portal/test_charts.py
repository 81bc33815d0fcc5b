"""Chart data: every day of the month on the axis, money to the cent."""

from datetime import date
from decimal import Decimal

from portal.charts import daily_spend_chart


def test_the_first_day_of_a_month_is_one_bar_among_all_its_days():
    chart = daily_spend_chart(
        days=[{"day": date(2026, 12, 1), "total": Decimal("12.345")}],
        today=date(2026, 12, 1),
        title="Spend per day",
    )

    assert len(chart["labels"]) == len(chart["values"]) == 31
    assert chart["labels"][:2] == ["Dec 1", "Dec 2"]
    assert chart["values"][:2] == [12.35, 0.0]
    assert (chart["x_title"], chart["y_title"]) == ("Day", "Spend (USD)")
