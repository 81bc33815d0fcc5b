"""A platform admin's decision on a request: approve (queue the rollout) or reject.

Both are idempotent: approving an approved deployment, or rejecting a rejected one,
changes nothing. A request the approval policy allows is approved at once, by nobody,
through deployment_auto_approve().

An approver may also allow what no request can ask for: an external Gateway, on a target
that declares it among its `approver_allowances` (a request's Gateway is regional
internal otherwise).
"""

from typing import Any

from django.urls import reverse
from django.utils import timezone

from deployments.choices import Status
from deployments.models import Deployment
from deployments.services.reasons import reason_checked
from deployments.services.rollout import rollout_schedule
from deployments.services.transitions import deployment_transition
from deployments.targets import target_for
from deployments.targets.base import EXTERNAL_GATEWAY
from portal.access import is_platform_admin
from portal.exceptions import PermissionDenied, ValidationFailed
from portal.models import ApiToken, TokenScope
from portal.notifications import notify

_APPROVED_OR_LATER = (Status.APPROVED, Status.DEPLOYING, Status.READY)


def is_own_request(deployment: Deployment, user: Any) -> bool:
    """Whether `user` asked for `deployment`, and so may not decide on it."""
    return deployment.requested_by_id is not None and deployment.requested_by_id == user.pk


def _require_approver(deployment: Deployment, user: Any, token: ApiToken | None) -> None:
    """Separation of duties: a platform admin decides, never on a request they made, and
    over the API only through an approval token (a team token acts within a team, and a
    team's own automation must not approve its spend)."""
    if token is not None and token.scope != TokenScope.APPROVE:
        raise PermissionDenied(
            "Team API tokens never approve or reject GPU spend; use an approval token, "
            "which a platform admin makes for that purpose."
        )
    if not is_platform_admin(user):
        raise PermissionDenied("Only platform admins can approve or reject GPU deployments.")
    if is_own_request(deployment, user):
        raise PermissionDenied(
            f"You asked for {deployment.slug}; another platform admin decides on it."
        )


def require_approval_token(token: ApiToken | None) -> None:
    """Over the API only an approval token decides: automation gets a credential made for
    that alone, and people decide on the approvals page, where they see what they approve."""
    if token is None or token.scope != TokenScope.APPROVE:
        raise PermissionDenied(
            "Over the API, approve or reject with an approval token, which a platform admin "
            "makes for that purpose; team tokens and sign-in sessions do not decide here."
        )


def offers_external_gateway(deployment: Deployment) -> bool:
    """Whether an approver may allow `deployment` an external Gateway: its target says so
    (`approver_allowances`), so no target is named here."""
    return EXTERNAL_GATEWAY in target_for(deployment).approver_allowances


def _allowed_spec(deployment: Deployment, external_gateway: bool) -> dict[str, Any]:
    """The changes an approver's allowances make to the row: the spec with
    `external_gateway` on, which spec_for() then yields to the plan. Refused on the field
    for a target that has no Gateway, and once decided (the rollout may have built an
    internal one)."""
    if not external_gateway:
        return {}
    if not offers_external_gateway(deployment):
        raise ValidationFailed(
            f"{deployment.slug} has no Gateway to make external.",
            fields={EXTERNAL_GATEWAY: [f"Target {deployment.target} has no Gateway."]},
        )
    if deployment.status in _APPROVED_OR_LATER and not deployment.spec.get(EXTERNAL_GATEWAY):
        raise ValidationFailed(
            f"{deployment.slug} was approved with an internal Gateway; an external one is "
            "allowed only when approving.",
            fields={EXTERNAL_GATEWAY: ["Allowed only when approving."]},
        )
    return {"spec": {**deployment.spec, EXTERNAL_GATEWAY: True}}


def _detail_link(deployment: Deployment) -> str:
    return reverse("deployments:detail", args=[deployment.pk])


def _approve(
    deployment: Deployment,
    *,
    by: Any,
    reason: str,
    token: ApiToken | None = None,
    auto: bool = False,
    allowed: dict[str, Any] | None = None,
) -> Deployment:
    message = reason or "Approved"
    if allowed:
        # The timeline and the audit (both record this message, with the approver) say
        # who opened the model to the internet.
        message = f"{message} (external Gateway allowed: reachable from the internet)"
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.APPROVED,
        actor=by,
        token=token,
        message=message,
        changes={
            **(allowed or {}),
            "decided_by": by,
            "decided_at": timezone.now(),
            "decision_reason": reason,
            "auto_approved": auto,
        },
    )
    notify(
        user=deployment.requested_by,
        team=deployment.team,
        subject=f"{deployment.slug} approved",
        message=f"Your deployment {deployment.slug} was approved: {reason or 'approved'}. "
        "The rollout has started.",
        link=_detail_link(deployment),
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment


def deployment_approve(
    *,
    deployment: Deployment,
    by: Any,
    reason: str = "",
    token: ApiToken | None = None,
    external_gateway: bool = False,
) -> Deployment:
    """Approve a pending request and queue its rollout, with an external Gateway when
    `external_gateway` (on a target that has one). Approving twice changes nothing."""
    _require_approver(deployment, by, token)
    allowed = _allowed_spec(deployment, external_gateway)
    if deployment.status in _APPROVED_OR_LATER:
        return deployment
    reason = reason_checked(reason)
    return _approve(deployment, by=by, reason=reason, token=token, allowed=allowed)


def deployment_auto_approve(*, deployment: Deployment, reason: str) -> Deployment:
    """Approve a request the approval policy allowed, on nobody's behalf, and queue its
    rollout. deployment_request() calls it inside the transaction that records the request."""
    return _approve(deployment, by=None, reason=reason, auto=True)


def deployment_reject(
    *, deployment: Deployment, by: Any, reason: str, token: ApiToken | None = None
) -> Deployment:
    _require_approver(deployment, by, token)
    if deployment.status == Status.REJECTED:
        return deployment
    if not reason_checked(reason).strip():
        raise ValidationFailed(
            "Say why the request is rejected.", fields={"reason": ["A reason is required."]}
        )
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.REJECTED,
        actor=by,
        token=token,
        message=reason,
        changes={"decided_by": by, "decided_at": timezone.now(), "decision_reason": reason},
    )
    notify(
        user=deployment.requested_by,
        team=deployment.team,
        subject=f"{deployment.slug} rejected",
        message=f"Your deployment {deployment.slug} was rejected: {reason}",
        link=_detail_link(deployment),
    )
    return deployment
