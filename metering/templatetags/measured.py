"""`{% measured_cost deployment %}` and `{% team_measured team %}`: what Google measured
beside the estimate, and what a token really cost, for the deployment and team pages;
`{% team_spend team %}` and `{% team_budget team as row %}`: a team's month against its
budget; `{% server_metrics deployment %}`: the model server's own metrics, charted."""

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from deployments.selectors import spend_by_day, spend_by_deployment
from metering.budget import budget_spend
from metering.meters import meter_for
from metering.selectors import spend_compared, spend_compared_by_deployment, spend_days
from metering.server_charts import server_charts
from metering.token_costs import (
    idle_deployments,
    team_token_cost,
    token_cost,
    token_costs_by_model,
    token_costs_ranked,
)
from portal.charts import daily_spend_chart
from portal.selectors import budget_status

register = template.Library()


@register.inclusion_tag("metering/_deployment_measured.html")
def measured_cost(deployment: Any) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "metered": meter_for(deployment),
        "month": spend_compared(deployment=deployment),
        "tokens": token_cost(deployment=deployment),
        "days": list(spend_days(deployment=deployment, limit=7)),
    }


@register.inclusion_tag("metering/_team_spend.html")
def team_spend(team: Any) -> dict[str, Any]:
    """The team page's month: spent against the budget, by day and by deployment."""
    budget = budget_spend(team=team)
    chart = daily_spend_chart(
        days=spend_by_day(team=team), today=timezone.localdate(), title="Spend per day"
    )
    return {
        "spend": budget_status(budget=team.monthly_budget, spent=budget.month_to_date),
        "budget_spend": budget,
        "projected": budget.projected,
        "by_deployment": spend_by_deployment(team=team),
        "spend_chart": chart if any(chart["values"]) else None,
    }


@register.simple_tag
def team_budget(team: Any) -> dict[str, Any]:
    """Spent this month against the budget, and whether it is close (the team list)."""
    return budget_status(budget=team.monthly_budget, spent=budget_spend(team=team).month_to_date)


@register.inclusion_tag("metering/_team_measured.html")
def team_measured(team: Any) -> dict[str, Any]:
    compared = spend_compared_by_deployment(team=team)
    ranked = [
        {**row, "compared": compared.get(row["deployment"].pk)}
        for row in token_costs_ranked(team=team)
    ]
    return {
        "team": team,
        "month": spend_compared(team=team),
        "ranked": ranked,
        "tokens": team_token_cost(team=team),
        "by_model": token_costs_by_model(team=team),
        "idle": idle_deployments(team=team),
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
