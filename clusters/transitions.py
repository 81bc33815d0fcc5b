"""The one guarded change of a cluster's status, with its timeline event and audit row."""

from typing import Any

from django.db import transaction

from clusters.choices import CLUSTER_TRANSITIONS, ClusterStatus
from clusters.models import Cluster, ClusterEvent
from deployments.choices import EventKind
from deployments.services.transitions import guarded_move
from portal.audit import audit_record


def cluster_transition(
    *,
    cluster: Cluster,
    to: ClusterStatus,
    actor: Any = None,
    message: str = "",
    changes: dict[str, Any] | None = None,
) -> Cluster:
    """The one place a cluster's status changes; refuses a move CLUSTER_TRANSITIONS lacks."""
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        current = ClusterStatus(locked.status)
        guarded_move(locked, current, to, CLUSTER_TRANSITIONS, f"Cluster {locked.name}", changes)
        person = actor if actor is not None and actor.is_authenticated else None
        ClusterEvent.objects.create(
            cluster=locked,
            kind=EventKind.TRANSITION,
            from_status=current,
            to_status=to,
            actor=person,
            message=message,
        )
        audit_record(
            action=f"cluster.{to.value}",
            obj=locked,
            actor=person,
            reason=message,
            before={"status": current.value},
            after={"status": to.value},
        )
    cluster.refresh_from_db()
    return cluster
