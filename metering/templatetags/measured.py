"""`{% measured_cost deployment %}` and `{% team_measured team %}`: what Google measured
beside the estimate, and what a token really cost, for the deployment and team pages;
`{% server_metrics deployment %}`: the model server's own metrics, charted."""

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings

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
