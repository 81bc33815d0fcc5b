"""`{% deployment_cost deployment %}`: the cost block any page about a deployment can show."""

from typing import Any

from django import template

from deployments.selectors import deployment_cost_facts

register = template.Library()


@register.inclusion_tag("deployments/_cost.html")
def deployment_cost(deployment: Any) -> dict[str, Any]:
    return {"deployment": deployment, "cost": deployment_cost_facts(deployment=deployment)}
