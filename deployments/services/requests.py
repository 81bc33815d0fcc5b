"""A team asks for a deployment: the request is checked, weighed and recorded.

It is approved at once if the approval policy allows, refused if the project cannot
hold it, and otherwise waits for a platform admin (deployments.services.decisions).
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments.choices import TERMINAL_STATES, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.services.assessment import RequestAssessment, deployment_assess
from deployments.services.decisions import deployment_auto_approve
from deployments.services.hf_access import hf_token_errors
from deployments.services.policy import Outcome
from deployments.services.request_specs import spec_for_request
from deployments.targets import TARGETS, UnknownTarget, target_get
from deployments.targets.spec import slug_errors
from portal.access import require_team_role
from portal.audit import audit_record
from portal.exceptions import NameTaken, ValidationFailed
from portal.models import ApiToken, Role, Team

DEFAULT_BUSY_HOURS = Decimal(8)
# Past a year a request should be made again; it also keeps the date on the calendar.
MAX_EXPIRY_HOURS = 24 * 366


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
    if expires_in_hours is not None and not 1 <= expires_in_hours <= MAX_EXPIRY_HOURS:
        raise ValidationFailed(
            "The deployment request is not valid; see fields.",
            fields={"expires_in_hours": [f"Use 1 to {MAX_EXPIRY_HOURS} hours (a year)."]},
        )
    spec = _validated_spec(team=team, target=target, slug=slug, values=values)
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
                    fields={spec.QUOTA_FIELD: assessment.decision.reasons},
                    extra={"quota": assessment.quota.as_json()},
                )
            deployment = _request_record(
                team=team,
                requested_by=requested_by,
                target=target,
                slug=slug,
                spec=spec,
                assessment=assessment,
                token=token,
                justification=justification,
                busy_hours_per_day=busy_hours_per_day,
                ttl=ttl,
            )
            if assessment.decision.outcome == Outcome.AUTO_APPROVED:
                deployment = deployment_auto_approve(
                    deployment=deployment,
                    reason="Auto-approved: " + assessment.decision.reasons[0],
                )
    except IntegrityError as exc:  # lost a race for the slug
        raise _name_taken(slug) from exc
    return deployment


def _validated_spec(*, team: Team, target: str, slug: str, values: dict[str, Any]) -> Any:
    """The request's spec, or every reason it is not valid (target, fields, token, slug)."""
    try:
        target_get(target)
    except UnknownTarget:
        raise ValidationFailed(
            f"Hangar cannot deploy to {target} yet.",
            fields={"target": [f"Available: {', '.join(TARGETS)}."]},
        ) from None
    spec, errors = spec_for_request(
        target=target_get(target), values=values, team=team, requesting=True
    )
    for field, messages in hf_token_errors(team=team, spec=spec).items():
        errors.setdefault(field, []).extend(messages)
    if slug_error := slug_errors(slug):
        errors["slug"] = slug_error
    elif _slug_taken(slug):
        if not errors:
            raise _name_taken(slug)
        errors["slug"] = _name_taken(slug).fields["slug"]
    if errors:
        raise ValidationFailed("The deployment request is not valid; see fields.", fields=errors)
    return spec


def _name_taken(slug: str) -> NameTaken:
    return NameTaken(
        f"A live deployment is already called {slug}; pick another name.",
        fields={"slug": [f"A live deployment is already called {slug}; pick another name."]},
    )


def _slug_taken(slug: str) -> bool:
    return (
        Deployment.objects.filter(slug=slug)
        .exclude(status__in=[s.value for s in TERMINAL_STATES])
        .exists()
    )


def _request_record(
    *,
    team: Team,
    requested_by: Any,
    target: str,
    slug: str,
    spec: Any,
    assessment: RequestAssessment,
    token: ApiToken | None,
    justification: str,
    busy_hours_per_day: Decimal,
    ttl: int | None,
) -> Deployment:
    """Create the pending deployment with its first event and its audit row."""
    deployment = Deployment.objects.create(
        team=team,
        slug=slug,
        target=target,
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
    return deployment
