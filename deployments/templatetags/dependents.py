"""What runs on a deployment (a base's LoRA adapters) and what it runs on, for its page."""

from typing import Any

from django import template

from deployments.choices import Status
from deployments.models import Deployment
from deployments.services.dependents import depends_on, live_dependents
from deployments.targets.gke_inference_gateway_adapter.spec import BASE_TARGET
from portal.access import role_at_least, role_in_team
from portal.models import Role

# The target that runs on a ready base of BASE_TARGET: its form is offered from the base.
ADAPTER_TARGET = "gke-inference-gateway-adapter"

register = template.Library()


@register.inclusion_tag("deployments/_dependents.html", takes_context=True)
def deployment_dependents(context: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    base_id = depends_on(deployment)
    user = context["request"].user
    # Offered to whoever may request one for the team: its form refuses anyone else.
    may_request = role_at_least(role_in_team(user=user, team=deployment.team), Role.DEPLOYER)
    return {
        "deployment": deployment,
        "base": Deployment.objects.filter(pk=base_id).first() if base_id else None,
        "dependents": live_dependents(deployment),
        "adapter_target": ADAPTER_TARGET
        if may_request and deployment.target == BASE_TARGET and deployment.status == Status.READY
        else "",
    }
