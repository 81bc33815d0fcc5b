"""A deployment's life after approval: retry, tear down, expiry.

Requests are in requests.py, approval and rejection in decisions.py, and every status
change goes through transitions.deployment_transition(). Side effects (queuing the
worker, emails) run only after commit.
"""

from typing import Any

from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment, DeploymentEvent
from deployments.services.dependents import live_dependents
from deployments.services.reasons import reason_checked
from deployments.services.rollout import rollout_schedule
from deployments.services.transitions import deployment_transition
from portal.access import is_platform_admin, require_team_role
from portal.models import ApiToken, Role
from portal.notifications import notify


def _detail_link(deployment: Deployment) -> str:
    return reverse("deployments:detail", args=[deployment.pk])


def _require_operator(
    *, deployment: Deployment, user: Any, token: ApiToken | None, action: str
) -> None:
    if token is None and is_platform_admin(user):
        return
    require_team_role(
        user=user, team=deployment.team, role=Role.DEPLOYER, token=token, action=action
    )


def _tear_down(
    deployment: Deployment, *, by: Any, token: ApiToken | None, reason: str
) -> Deployment:
    """Tear down the deployment and, first, every live deployment that runs on it (each
    on its own record); its own plan starts once they are gone (services/rollout.py)."""
    if deployment.status in (Status.TEARING_DOWN, Status.TORN_DOWN, Status.REJECTED):
        return deployment
    dependents = live_dependents(deployment)
    for dependent in dependents:
        _tear_down(
            dependent,
            by=by,
            token=token,
            reason=f"Torn down first: its base {deployment.slug} is being torn down"
            + (f" ({reason})" if reason else "."),
        )
    if dependents and deployment.status != Status.PENDING_APPROVAL:
        names = ", ".join(d.slug for d in dependents)
        reason = f"{reason or 'Tear down requested'}; after what runs on it: {names}"
    if deployment.status == Status.PENDING_APPROVAL:
        return deployment_transition(
            deployment=deployment,
            to=Status.TORN_DOWN,
            actor=by,
            token=token,
            message=reason or "Withdrawn before approval; nothing was created.",
        )
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.TEARING_DOWN,
        actor=by,
        token=token,
        message=reason or "Tear down requested",
        changes={"failure_step": "", "failure_message": "", "failure_hint": ""},
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment


def deployment_tear_down(
    *, deployment: Deployment, by: Any, token: ApiToken | None = None, reason: str = ""
) -> Deployment:
    """Remove everything the deployment created. A request not yet approved is withdrawn."""
    _require_operator(deployment=deployment, user=by, token=token, action="tear down deployments")
    return _tear_down(deployment, by=by, token=token, reason=reason_checked(reason))


def _failed_from(deployment: Deployment) -> Status:
    """The status the deployment failed in: a failed tear down is retried as a tear down."""
    last = (
        DeploymentEvent.objects.filter(deployment=deployment, to_status=Status.FAILED)
        .order_by("-created_at", "-pk")
        .values_list("from_status", flat=True)
        .first()
    )
    return Status.TEARING_DOWN if last == Status.TEARING_DOWN else Status.DEPLOYING


def deployment_retry(
    *, deployment: Deployment, by: Any, token: ApiToken | None = None
) -> Deployment:
    """Resume what failed, from the step that failed: the deploy, or the tear down.

    Steps already done in this attempt and phase are skipped by the rollout, so a retried
    tear down carries on deleting and never marks a deleted service ready.
    """
    _require_operator(deployment=deployment, user=by, token=token, action="retry deployments")
    resume = _failed_from(deployment) if deployment.status == Status.FAILED else Status.DEPLOYING
    what = "tear down" if resume == Status.TEARING_DOWN else "deploy"
    deployment = deployment_transition(
        deployment=deployment,
        to=resume,
        actor=by,
        token=token,
        message=f"Retry the {what} from {deployment.failure_step or 'the start'}",
        changes={"failure_step": "", "failure_message": "", "failure_hint": ""},
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment


def deployment_expire(*, deployment: Deployment, now: Any) -> Deployment:
    """Tear down a deployment whose time is up, on the record, on nobody's behalf."""
    reason = f"Expired at {deployment.expires_at:%Y-%m-%d %H:%M} UTC (the team's time limit)."
    deployment = _tear_down(deployment, by=None, token=None, reason=reason)
    notify(
        user=deployment.requested_by,
        team=deployment.team,
        subject=f"{deployment.slug} expired",
        message=f"{deployment.slug} reached its expiry and is being torn down.",
        link=_detail_link(deployment),
    )
    return deployment
