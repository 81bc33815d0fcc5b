"""`{% measured_cost deployment %}` and `{% team_measured team %}`: what Google measured
beside the estimate, and what a token really cost, for the deployment and team pages;
`{% team_spend team %}` and `{% team_budgets teams as rows %}`: a team's month against
its budget; `{% server_metrics deployment %}`: the model server's own metrics, charted."""

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from deployments.models import Deployment
from metering.budget import (
    SpendFigures,
    against_budget,
    figures_of,
    spend_per_day,
    team_month,
    teams_against_budget,
)
from metering.meters import meter_for
from metering.selectors import spend_compared, spend_compared_by_deployment, spend_days
from metering.server_charts import server_charts
from metering.token_costs import (
    idle_days,
    idle_savings,
    ranked_token_costs,
    summed_token_cost,
    token_cost,
    token_cost_of,
    token_costs_by_model,
)
from portal.charts import daily_split_chart
from portal.paging import page_of

register = template.Library()

# Rows per page of each table on the team page (each paged on its own).
TABLE_ROWS = 25


@register.inclusion_tag("metering/_deployment_measured.html")
def measured_cost(deployment: Any) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "metered": meter_for(deployment),
        "month": spend_compared(deployment=deployment),
        "tokens": token_cost(deployment=deployment),
        "days": list(spend_days(deployment=deployment, limit=7)),
    }


def spend_split_chart(days: dict[Any, SpendFigures], title: str) -> dict[str, Any] | None:
    """The month's spend per day, measured and estimated parts stacked (None if nothing)."""
    chart = daily_split_chart(
        days={day: {"measured": f.measured, "estimated": f.estimated} for day, f in days.items()},
        parts=["measured", "estimated"],
        today=timezone.localdate(),
        title=title,
    )
    return chart if any(chart["values"]) else None


@register.inclusion_tag("metering/_team_spend.html", takes_context=True)
def team_spend(context: Any, team: Any) -> dict[str, Any]:
    """The team page's month: spent against the budget, by day and by deployment, every
    figure a sum of the same measured and estimated days (metering.budget)."""
    month = team_month(team=team)
    budget = month.budget
    by_deployment = page_of(
        context["request"], month.per_deployment, size=TABLE_ROWS, param="spent"
    )
    shown = Deployment.objects.in_bulk([row[0] for row in by_deployment.object_list])
    status = against_budget(team, budget)
    return {
        "spend": status,
        "budget_spend": budget,
        "by_deployment": by_deployment,
        "rows": [
            {"deployment": shown[row[0]], "figures": figures_of(row)}
            for row in by_deployment.object_list
        ],
        "spend_chart": spend_split_chart(spend_per_day(team=team), "Spend per day"),
    }


@register.simple_tag
def team_budgets(teams: Any) -> list[tuple[Any, dict[str, Any]]]:
    """Each team with its month against its budget, and whether it is close (the team
    list), read for every team at once."""
    return [(row["team"], row) for row in teams_against_budget(teams=teams)]


@register.inclusion_tag("metering/_team_measured.html", takes_context=True)
def team_measured(context: Any, team: Any) -> dict[str, Any]:
    request = context["request"]
    ranked = page_of(request, ranked_token_costs(team=team), size=TABLE_ROWS, param="ranked")
    shown = Deployment.objects.in_bulk([row["deployment_id"] for row in ranked.object_list])
    by_model = token_costs_by_model(team=team)
    compared = spend_compared_by_deployment(team=team, deployment_ids=shown)
    idle = page_of(request, idle_days(team=team), size=TABLE_ROWS, param="idle")
    return {
        "team": team,
        "month": spend_compared(team=team),
        "ranked": [
            {
                "deployment": shown[row["deployment_id"]],
                "cost": token_cost_of(row),
                "compared": compared.get(row["deployment_id"]),
            }
            for row in ranked.object_list
        ],
        "ranked_page": ranked,
        "tokens": summed_token_cost(row["cost"] for row in by_model),
        "by_model": by_model,
        "idle": idle_savings(idle.object_list, team=team),
        "idle_page": idle,
    }


@register.inclusion_tag("metering/_server_metrics.html")
def server_metrics(deployment: Any) -> dict[str, Any]:
    """The model server's charts over the last hour and the last day."""
    charts: dict[str, Any] = {
        "deployment": deployment,
        "poll_seconds": int(settings.METERING["CHART_REFRESH_SECONDS"]),
    }
    for name, window in (("hour", timedelta(hours=1)), ("day", timedelta(days=1))):
        charts[name] = [
            {**chart, "id": f"server-{name}-{chart['key']}"}
            for chart in server_charts(deployment=deployment, window=window)
        ]
    return charts
