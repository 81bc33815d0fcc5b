"""`{% team_quotas team %}`: a team's GPU quotas, for the team page's limits."""

from typing import Any

from django import template

from deployments.models import TeamGpuQuota

register = template.Library()


@register.inclusion_tag("deployments/_team_quotas.html")
def team_quotas(team: Any) -> dict[str, Any]:
    return {"quotas": TeamGpuQuota.objects.filter(team=team)}
