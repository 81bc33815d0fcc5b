"""What runs on a deployment (a base's LoRA adapters) and what it runs on, for its page."""

from typing import Any

from django import template

from deployments.models import Deployment
from deployments.services.dependents import depends_on, live_dependents

register = template.Library()


@register.inclusion_tag("deployments/_dependents.html")
def deployment_dependents(deployment: Deployment) -> dict[str, Any]:
    base_id = depends_on(deployment)
    return {
        "deployment": deployment,
        "base": Deployment.objects.filter(pk=base_id).first() if base_id else None,
        "dependents": live_dependents(deployment),
    }
