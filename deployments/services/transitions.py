"""The one guarded state change: every move of a deployment's status goes through here.

deployment_transition() checks the move against choices.TRANSITIONS on a locked row (the
engine's guarded_transition, which clusters use too) and writes the deployment's event and
the audit row in the same transaction. Callers run their side effects (queuing the
worker, emails) only after it returns.
"""

from typing import Any

from deployments.choices import TRANSITIONS, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.services.state_notifications import deployment_state_notify
from portal.audit import audit_record
from portal.exceptions import InvalidTransition
from portal.models import ApiToken
from runbook.transitions import InvalidMove, guarded_transition


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
    person = actor if actor is not None and actor.is_authenticated else None

    def record(locked: Deployment, before: Status) -> None:
        DeploymentEvent.objects.create(
            deployment=locked,
            from_status=before,
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
            before={"status": before.value},
            after={"status": to.value},
        )

    try:
        guarded_transition(
            row=deployment,
            to=to,
            table=TRANSITIONS,
            name=f"Deployment {deployment.slug}",
            changes=changes,
            record=record,
        )
    except InvalidMove as refused:
        raise InvalidTransition(refused.message, extra={"status": refused.status}) from None
    deployment_state_notify(deployment=deployment, to=to, actor=person)
    return deployment
