"""A deployment's life: request, approval or rejection, retry, tear down.

Every state change goes through deployment_transition(), which checks the move
against choices.TRANSITIONS on a locked row and writes the event in the same
transaction. Side effects (queuing the worker) run only after commit.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments.choices import (
    AVAILABLE_TARGETS,
    TERMINAL_STATES,
    TRANSITIONS,
    EventKind,
    Status,
    Target,
)
from deployments.dispatch import rollout_schedule
from deployments.models import Deployment, DeploymentEvent
from deployments.specs import slug_errors, spec_class_for
from portal.access import is_platform_admin, require_team_role
from portal.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from portal.models import ApiToken, Role, Team


def deployment_transition(
    *,
    deployment: Deployment,
    to: Status,
    actor: Any = None,
    token: ApiToken | None = None,
    message: str = "",
    changes: dict[str, Any] | None = None,
) -> Deployment:
    """The one place a deployment's status changes."""
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        current = Status(locked.status)
        if to not in TRANSITIONS[current]:
            raise InvalidTransition(
                f"Deployment {locked.slug} is {current.label.lower()}; it cannot become "
                f"{to.label.lower()}.",
                extra={"status": current.value},
            )
        for field, value in (changes or {}).items():
            setattr(locked, field, value)
        locked.status = to
        locked.save()
        DeploymentEvent.objects.create(
            deployment=locked,
            kind=EventKind.TRANSITION,
            from_status=current,
            to_status=to,
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_token=token,
            message=message,
        )
    deployment.refresh_from_db()
    return deployment


def deployment_request(
    *,
    team: Team,
    requested_by: Any,
    target: str,
    slug: str,
    values: dict[str, Any],
    token: ApiToken | None = None,
) -> Deployment:
    """Record a request for a deployment; it waits for a platform admin's approval."""
    require_team_role(
        user=requested_by, team=team, role=Role.DEPLOYER, token=token, action="request deployments"
    )
    if target not in [t.value for t in AVAILABLE_TARGETS]:
        raise ValidationFailed(
            f"Hangar cannot deploy to {target} yet.",
            fields={
                "target": [f"Available targets: {', '.join(t.value for t in AVAILABLE_TARGETS)}."]
            },
        )
    spec = spec_class_for(target).from_values(values)
    errors = spec.errors()
    if slug_error := slug_errors(slug):
        errors["slug"] = slug_error
    elif _slug_taken(slug):
        errors["slug"] = [f"A live deployment is already called {slug}; pick another name."]
    if errors:
        raise ValidationFailed("The deployment request is not valid; see fields.", fields=errors)

    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                team=team,
                slug=slug,
                target=Target(target),
                model=spec.model,
                region=spec.region,
                gpu_type=spec.gpu_type,
                gpu_count=spec.gpu_count,
                spec=spec.spec_json(),
                requested_by=requested_by,
                requested_via_token=token,
            )
            DeploymentEvent.objects.create(
                deployment=deployment,
                kind=EventKind.TRANSITION,
                to_status=Status.PENDING_APPROVAL,
                actor=requested_by,
                actor_token=token,
                message="Requested",
            )
    except IntegrityError as exc:  # lost a race for the slug
        raise ValidationFailed(
            "The deployment request is not valid; see fields.",
            fields={"slug": [f"A live deployment is already called {slug}; pick another name."]},
        ) from exc
    # Room for the approval policy (quotas, cost limits): today every request waits.
    return deployment


def _slug_taken(slug: str) -> bool:
    return (
        Deployment.objects.filter(slug=slug)
        .exclude(status__in=[s.value for s in TERMINAL_STATES])
        .exists()
    )


def _require_approver(user: Any) -> None:
    if not is_platform_admin(user):
        raise PermissionDenied("Only platform admins can approve or reject GPU deployments.")


_APPROVED_OR_LATER = (Status.APPROVED, Status.DEPLOYING, Status.READY)


def deployment_approve(*, deployment: Deployment, by: Any, reason: str = "") -> Deployment:
    """Approve a pending request and queue its rollout. Approving twice changes nothing."""
    _require_approver(by)
    if deployment.status in _APPROVED_OR_LATER:
        return deployment
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.APPROVED,
        actor=by,
        message=reason or "Approved",
        changes={"decided_by": by, "decided_at": timezone.now(), "decision_reason": reason},
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment


def deployment_reject(*, deployment: Deployment, by: Any, reason: str) -> Deployment:
    _require_approver(by)
    if deployment.status == Status.REJECTED:
        return deployment
    if not reason.strip():
        raise ValidationFailed(
            "Say why the request is rejected.", fields={"reason": ["A reason is required."]}
        )
    return deployment_transition(
        deployment=deployment,
        to=Status.REJECTED,
        actor=by,
        message=reason,
        changes={"decided_by": by, "decided_at": timezone.now(), "decision_reason": reason},
    )


def _require_operator(
    *, deployment: Deployment, user: Any, token: ApiToken | None, action: str
) -> None:
    if token is None and is_platform_admin(user):
        return
    require_team_role(
        user=user, team=deployment.team, role=Role.DEPLOYER, token=token, action=action
    )


def deployment_tear_down(
    *, deployment: Deployment, by: Any, token: ApiToken | None = None, reason: str = ""
) -> Deployment:
    """Remove everything the deployment created. A request not yet approved is withdrawn."""
    _require_operator(deployment=deployment, user=by, token=token, action="tear down deployments")
    if deployment.status in (Status.TEARING_DOWN, Status.TORN_DOWN, Status.REJECTED):
        return deployment
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


def deployment_retry(
    *, deployment: Deployment, by: Any, token: ApiToken | None = None
) -> Deployment:
    """Resume a failed rollout from the step that failed."""
    _require_operator(deployment=deployment, user=by, token=token, action="retry deployments")
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.DEPLOYING,
        actor=by,
        token=token,
        message=f"Retry from {deployment.failure_step or 'the start'}",
        changes={"failure_step": "", "failure_message": "", "failure_hint": ""},
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment
