"""Reads shared by the pages and the API: what a user may see."""

from decimal import Decimal
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
    from deployments.services.quotas import quota_check
    from deployments.specs import spec_for

    return {
        "estimate": Estimate.from_json(deployment.estimate) if deployment.estimate else None,
        "quota": quota_check(
            team=deployment.team,
            region=deployment.region,
            gpu_type=deployment.gpu_type,
            requested=spec_for(deployment).gpus_held,
            exclude=deployment,
        ),
    }


def deployment_cost_facts(*, deployment: Deployment) -> dict[str, Any]:
    """What the deployment was approved to cost, what it has cost, and per token served.

    Token counts come from the playground's usage records (the `usage_records` relation);
    estimated counts are included and flagged.
    """
    from django.db.models import Count, Q, Sum

    from deployments.models import CostAccrual
    from deployments.pricing.estimator import Estimate
    from deployments.services.spend import spend_month_to_date

    accrued = CostAccrual.objects.filter(deployment=deployment).aggregate(total=Sum("amount"))
    total_cost = accrued["total"] or Decimal(0)
    usage = getattr(deployment, "usage_records", None)
    tokens = {"prompt": 0, "completion": 0, "estimated": 0}
    if usage is not None:
        sums = usage.aggregate(
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            estimated=Count("id", filter=Q(estimated=True)),
        )
        tokens = {key: sums[key] or 0 for key in tokens}
    served = tokens["prompt"] + tokens["completion"]
    return {
        "estimate": Estimate.from_json(deployment.estimate) if deployment.estimate else None,
        "month_to_date": spend_month_to_date(deployment=deployment),
        "total_cost": total_cost,
        "tokens": tokens,
        "tokens_served": served,
        "cost_per_million_tokens": total_cost * 1_000_000 / served if served else None,
        "billing": deployment.cost_accrued_until is not None,
    }
