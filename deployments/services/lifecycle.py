"""A deployment's life: request, approval or rejection, retry, tear down, expiry.

Every state change goes through deployment_transition(), which checks the move
against choices.TRANSITIONS on a locked row and writes the deployment's event and
the audit row in the same transaction. Side effects (queuing the worker, emails)
run only after commit.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
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
from deployments.pricing.estimator import Estimate, cents
from deployments.services.estimates import estimate_for
from deployments.services.hf_access import hf_token_errors
from deployments.services.policy import Decision, Outcome, approval_decision
from deployments.services.quotas import QuotaCheck, quota_check
from deployments.services.spend import hours_left_in_month, spend_projected_month
from deployments.specs import slug_errors, spec_class_for
from portal.access import is_platform_admin, require_team_role
from portal.audit import audit_record
from portal.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from portal.models import ApiToken, Role, Team
from portal.notifications import notify

DEFAULT_BUSY_HOURS = Decimal(8)


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
        person = actor if actor is not None and actor.is_authenticated else None
        DeploymentEvent.objects.create(
            deployment=locked,
            kind=EventKind.TRANSITION,
            from_status=current,
            to_status=to,
            actor=person,
            actor_token=token,
            message=message,
        )
        audit_record(
            action=f"deployment.{to.value}",
            obj=locked,
            actor=person,
            token=token,
            team=locked.team,
            reason=message,
            before={"status": current.value},
            after={"status": to.value},
        )
    deployment.refresh_from_db()
    return deployment


@dataclass(frozen=True)
class RequestAssessment:
    """Everything the approval policy looked at, for the form, the queue and the API."""

    estimate: Estimate
    quota: QuotaCheck
    projected_month: Decimal
    decision: Decision


def deployment_assess(
    *,
    team: Team,
    target: str,
    spec: Any,
    busy_hours_per_day: Decimal,
    exclude: Deployment | None = None,
    lock: bool = False,
) -> RequestAssessment:
    """Price the request and hold it against quotas, the cost limit and the budget."""
    estimate = estimate_for(target=target, spec=spec, busy_hours_per_day=busy_hours_per_day)
    quota = quota_check(
        team=team,
        region=spec.region,
        gpu_type=spec.gpu_type,
        requested=spec.gpus_held,
        exclude=exclude,
        lock=lock,
    )
    now = timezone.now()
    projected = spend_projected_month(team=team, now=now)
    if exclude is None:
        projected += estimate.average_hourly * hours_left_in_month(now)
    budget = None if team.monthly_budget is None else cents(Decimal(team.monthly_budget))
    limit = cents(Decimal(team.auto_approve_monthly_limit))
    gpu = spec.gpu_type
    decision = approval_decision(
        fits_project=quota.fits_project,
        fits_team_quota=quota.fits_team,
        under_cost_limit=estimate.monthly <= limit,
        within_budget=budget is None or projected <= budget,
        explain={
            "project": (
                f"The project can hold {quota.project_capacity} × {gpu} in {quota.region}; "
                f"{quota.project_used} are taken, and this request needs {quota.requested}."
            ),
            "team_quota": (
                f"over the team's {gpu} quota ({quota.team_after} of {quota.team_quota} with "
                "this request)"
            ),
            "cost_limit": (
                f"${cents(estimate.monthly)}/month is over the team's auto-approval limit of "
                f"${limit}/month"
            ),
            "budget": (
                f"would bring the team's month to ${cents(projected)} against a budget of ${budget}"
            ),
            "auto": (
                f"within the team's {gpu} quota ({quota.team_after} of {quota.team_quota}), "
                f"${cents(estimate.monthly)}/month under the ${limit} limit"
            ),
        },
    )
    return RequestAssessment(estimate, quota, projected, decision)


def deployment_request(
    *,
    team: Team,
    requested_by: Any,
    target: str,
    slug: str,
    values: dict[str, Any],
    token: ApiToken | None = None,
    justification: str = "",
    busy_hours_per_day: Decimal = DEFAULT_BUSY_HOURS,
    expires_in_hours: int | None = None,
) -> Deployment:
    """Record a request. It is approved at once if the approval policy allows, refused
    if the project cannot hold it, and otherwise waits for a platform admin."""
    require_team_role(
        user=requested_by, team=team, role=Role.DEPLOYER, token=token, action="request deployments"
    )
    if target not in [t.value for t in AVAILABLE_TARGETS]:
        raise ValidationFailed(
            f"Hangar cannot deploy to {target} yet.",
            fields={"target": [f"Available: {', '.join(t.value for t in AVAILABLE_TARGETS)}."]},
        )
    spec = spec_class_for(target).from_values(values)
    errors = spec.errors()
    for field, messages in hf_token_errors(team=team, spec=spec).items():
        errors.setdefault(field, []).extend(messages)
    if slug_error := slug_errors(slug):
        errors["slug"] = slug_error
    elif _slug_taken(slug):
        errors["slug"] = [f"A live deployment is already called {slug}; pick another name."]
    if errors:
        raise ValidationFailed("The deployment request is not valid; see fields.", fields=errors)

    ttl = expires_in_hours if expires_in_hours is not None else team.default_ttl_hours
    try:
        with transaction.atomic():
            assessment = deployment_assess(
                team=team,
                target=target,
                spec=spec,
                busy_hours_per_day=busy_hours_per_day,
                lock=True,
            )
            if assessment.decision.outcome == Outcome.REFUSED:
                raise ValidationFailed(
                    assessment.decision.reasons[0],
                    fields={"max_instances": assessment.decision.reasons},
                    extra={"quota": assessment.quota.as_json()},
                )
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
                justification=justification,
                busy_hours_per_day=busy_hours_per_day,
                estimate=assessment.estimate.as_json(),
                expires_at=timezone.now() + timedelta(hours=ttl) if ttl else None,
            )
            DeploymentEvent.objects.create(
                deployment=deployment,
                kind=EventKind.TRANSITION,
                to_status=Status.PENDING_APPROVAL,
                actor=requested_by,
                actor_token=token,
                message="Requested; " + "; ".join(assessment.decision.reasons),
            )
            audit_record(
                action="deployment.requested",
                obj=deployment,
                actor=requested_by,
                token=token,
                team=team,
                reason=justification,
                after={
                    "spec": {**spec.spec_json(), "model": spec.model, "region": spec.region},
                    "estimate": assessment.estimate.as_json(),
                    "quota": assessment.quota.as_json(),
                    "decision": assessment.decision.outcome.value,
                },
            )
            if assessment.decision.outcome == Outcome.AUTO_APPROVED:
                deployment = _approve(
                    deployment,
                    by=None,
                    reason="Auto-approved: " + assessment.decision.reasons[0],
                    auto=True,
                )
    except IntegrityError as exc:  # lost a race for the slug
        raise ValidationFailed(
            "The deployment request is not valid; see fields.",
            fields={"slug": [f"A live deployment is already called {slug}; pick another name."]},
        ) from exc
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


def _detail_link(deployment: Deployment) -> str:
    return reverse("deployments:detail", args=[deployment.pk])


_APPROVED_OR_LATER = (Status.APPROVED, Status.DEPLOYING, Status.READY)


def _approve(deployment: Deployment, *, by: Any, reason: str, auto: bool = False) -> Deployment:
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.APPROVED,
        actor=by,
        message=reason or "Approved",
        changes={
            "decided_by": by,
            "decided_at": timezone.now(),
            "decision_reason": reason,
            "auto_approved": auto,
        },
    )
    notify(
        user=deployment.requested_by,
        subject=f"{deployment.slug} approved",
        message=f"Your deployment {deployment.slug} was approved: {reason or 'approved'}. "
        "The rollout has started.",
        link=_detail_link(deployment),
    )
    rollout_schedule(deployment_id=deployment.pk)
    return deployment


def deployment_approve(*, deployment: Deployment, by: Any, reason: str = "") -> Deployment:
    """Approve a pending request and queue its rollout. Approving twice changes nothing."""
    _require_approver(by)
    if deployment.status in _APPROVED_OR_LATER:
        return deployment
    return _approve(deployment, by=by, reason=reason)


def deployment_reject(*, deployment: Deployment, by: Any, reason: str) -> Deployment:
    _require_approver(by)
    if deployment.status == Status.REJECTED:
        return deployment
    if not reason.strip():
        raise ValidationFailed(
            "Say why the request is rejected.", fields={"reason": ["A reason is required."]}
        )
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.REJECTED,
        actor=by,
        message=reason,
        changes={"decided_by": by, "decided_at": timezone.now(), "decision_reason": reason},
    )
    notify(
        user=deployment.requested_by,
        subject=f"{deployment.slug} rejected",
        message=f"Your deployment {deployment.slug} was rejected: {reason}",
        link=_detail_link(deployment),
    )
    return deployment


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


def deployment_tear_down(
    *, deployment: Deployment, by: Any, token: ApiToken | None = None, reason: str = ""
) -> Deployment:
    """Remove everything the deployment created. A request not yet approved is withdrawn."""
    _require_operator(deployment=deployment, user=by, token=token, action="tear down deployments")
    return _tear_down(deployment, by=by, token=token, reason=reason)


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


def deployment_expire(*, deployment: Deployment, now: Any) -> Deployment:
    """Tear down a deployment whose time is up, on the record, on nobody's behalf."""
    reason = f"Expired at {deployment.expires_at:%Y-%m-%d %H:%M} UTC (the team's time limit)."
    deployment = _tear_down(deployment, by=None, token=None, reason=reason)
    notify(
        user=deployment.requested_by,
        subject=f"{deployment.slug} expired",
        message=f"{deployment.slug} reached its expiry and is being torn down.",
        link=_detail_link(deployment),
    )
    return deployment
