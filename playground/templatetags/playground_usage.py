"""The deployment page's usage section, kept in the playground's own partial."""

from typing import Any

from django import template

from deployments.choices import Status
from deployments.models import Deployment
from playground.selectors import usage_totals

register = template.Library()


@register.inclusion_tag("playground/_usage.html")
def deployment_usage(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "usage": usage_totals(deployment=deployment),
        "chat_ready": deployment.status == Status.READY and bool(deployment.endpoint_url),
    }
