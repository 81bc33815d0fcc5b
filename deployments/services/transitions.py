"""The one guarded state change: every move of a deployment's status goes through here.

deployment_transition() checks the move against choices.TRANSITIONS on a locked row and
writes the deployment's event and the audit row in the same transaction. Callers run
their side effects (queuing the worker, emails) only after it returns.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from deployments.choices import TRANSITIONS, EventKind, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.services.state_notifications import deployment_state_notify
from portal.audit import audit_record
from portal.exceptions import InvalidTransition
from portal.models import ApiToken


def guarded_move(
    locked: Any,
    current: Any,
    to: Any,
    table: Mapping[Any, frozenset[Any]],
    name: str,
    changes: dict[str, Any] | None,
) -> None:
    """Move a locked row to `to` with `changes`, or refuse a move `table` lacks; the rule
    every status machine here (deployments, clusters) follows."""
    if to not in table[current]:
        raise InvalidTransition(
            f"{name} is {current.label.lower()}; it cannot become {to.label.lower()}.",
            extra={"status": current.value},
        )
    for field, value in (changes or {}).items():
        setattr(locked, field, value)
    locked.status = to
    locked.save()


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
        guarded_move(locked, current, to, TRANSITIONS, f"Deployment {locked.slug}", changes)
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
    deployment_state_notify(deployment=deployment, to=to, actor=person)
    return deployment
