"""The audit trail: one function every decision goes through."""

from collections.abc import Iterable
from typing import Any

from django.db import models

from portal.models import ApiToken, AuditEvent, Team


def audit_record(
    *,
    action: str,
    obj: models.Model,
    actor: Any = None,
    token: ApiToken | None = None,
    team: Team | None = None,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record who did `action` to `obj`, why, and what changed. Call it inside the write's
    transaction, so the change and its record commit or roll back together."""
    return AuditEvent.objects.create(
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_token=token,
        team=team,
        reason=reason,
        before=before,
        after=after,
    )


# Status values as people read them ("pending_approval" → "Pending approval"), for the
# audit page; each app whose rows the audit names adds its statuses at start-up.
_STATUS_LABELS: dict[str, str] = {}


def add_status_labels(choices: Iterable[tuple[str, str]]) -> None:
    _STATUS_LABELS.update(choices)


def status_labels() -> dict[str, str]:
    return _STATUS_LABELS
