"""Reads shared by the pages and the API: what a user may see."""

from typing import Any

from django.db.models import QuerySet

from deployments.choices import Status
from deployments.models import Deployment, DeploymentEvent
from portal.access import is_platform_admin, teams_visible_to
from portal.exceptions import NotFound
from portal.models import ApiToken


def deployment_list(*, user: Any, token: ApiToken | None = None) -> QuerySet[Deployment]:
    """Deployments of the user's teams; platform admins (without a token) see all."""
    deployments = Deployment.objects.select_related("team", "requested_by")
    if token is None and is_platform_admin(user):
        return deployments
    return deployments.filter(team__in=teams_visible_to(user=user, token=token))


def deployment_get(*, user: Any, pk: int, token: ApiToken | None = None) -> Deployment:
    """One visible deployment; another team's is reported as missing, not forbidden."""
    deployment = deployment_list(user=user, token=token).filter(pk=pk).first()
    if deployment is None:
        raise NotFound(f"No deployment {pk} among those you can see.")
    return deployment


def deployment_pending_approval() -> QuerySet[Deployment]:
    return (
        Deployment.objects.filter(status=Status.PENDING_APPROVAL)
        .select_related("team", "requested_by")
        .order_by("created_at")
    )


def deployment_timeline(*, deployment: Deployment) -> QuerySet[DeploymentEvent]:
    return deployment.events.select_related("actor")


def deployment_review_facts(*, deployment: Deployment) -> dict[str, Any]:
    """What an approver weighs: the stored estimate, and the quotas before and after."""
    from deployments.pricing.estimator import Estimate
    from deployments.services.quotas import gpus_held, quota_check
    from deployments.specs import spec_for

    return {
        "estimate": Estimate.from_json(deployment.estimate) if deployment.estimate else None,
        "quota": quota_check(
            team=deployment.team,
            region=deployment.region,
            gpu_type=deployment.gpu_type,
            requested=gpus_held(spec_for(deployment)),
            exclude=deployment,
        ),
    }
