"""The one guarded change of a cluster's status, with its timeline event and audit row."""

from typing import Any

from clusters.choices import CLUSTER_TRANSITIONS, ClusterStatus
from clusters.models import Cluster, ClusterEvent
from portal.audit import audit_record
from portal.exceptions import InvalidTransition
from runbook.transitions import InvalidMove, guarded_transition


def cluster_transition(
    *,
    cluster: Cluster,
    to: ClusterStatus,
    actor: Any = None,
    message: str = "",
    changes: dict[str, Any] | None = None,
) -> Cluster:
    """The one place a cluster's status changes; refuses a move CLUSTER_TRANSITIONS lacks."""
    person = actor if actor is not None and actor.is_authenticated else None

    def record(locked: Cluster, before: ClusterStatus) -> None:
        ClusterEvent.objects.create(
            cluster=locked, from_status=before, to_status=to, actor=person, message=message
        )
        audit_record(
            action=f"cluster.{to.value}",
            obj=locked,
            actor=person,
            reason=message,
            before={"status": before.value},
            after={"status": to.value},
        )

    try:
        return guarded_transition(
            row=cluster,
            to=to,
            table=CLUSTER_TRANSITIONS,
            name=f"Cluster {cluster.name}",
            changes=changes,
            record=record,
        )
    except InvalidMove as refused:
        raise InvalidTransition(refused.message, extra={"status": refused.status}) from None
