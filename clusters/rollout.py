"""The cluster as an owner of plans (runbook/owners.py): what the engine asks of it.

Same engine, ledger and step results as a deployment's, so an executor reads the same way
whichever owner it runs for. What differs is what a cluster is: no spend clock, no model
server, and what a step reads (endpoint, CA, version) lands on the cluster row itself.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q

from clusters.choices import (
    CLUSTER_ROLLING_STATES,
    OWNER_KIND,
    PHASE_OF_STATUS,
    ClusterPhase,
    ClusterStatus,
)
from clusters.models import Cluster
from clusters.plans import ClusterPlan, ClusterRef, cluster_plan
from clusters.transitions import cluster_transition
from runbook import dispatch
from runbook.owners import Executor
from runbook.plan import Step
from runbook.results import Failed, Retry

KIND = OWNER_KIND

# What a step may write on the cluster row (read_cluster's outputs).
CLUSTER_OUTPUT_FIELDS = frozenset(
    {
        "endpoint",
        "ca_certificate",
        "current_version",
        "workload_pool",
        "autopilot",
        "release_channel",
    }
)


def plan_for_cluster(cluster: Cluster, phase: ClusterPhase) -> ClusterPlan:
    ref = ClusterRef(
        cluster.project,
        cluster.location,
        cluster.name,
        cluster.release_channel,
        autopilot=cluster.autopilot,
    )
    return cluster_plan(phase, ref)


class ClusterOwner:
    kind = KIND
    model = Cluster

    def rolling(self) -> Q:
        return Q(status__in=[s.value for s in CLUSTER_ROLLING_STATES])

    def begin(self, row: Cluster) -> Cluster | None:
        return row if row.status in CLUSTER_ROLLING_STATES else None

    def plan(self, row: Cluster) -> ClusterPlan:
        return plan_for_cluster(row, PHASE_OF_STATUS[ClusterStatus(row.status)])

    def outputs(self, row: Cluster) -> dict[str, Any]:
        return {}

    def store_outputs(self, row: Cluster, outputs: Mapping[str, Any], now: datetime) -> None:
        fields = {k: v for k, v in outputs.items() if k in CLUSTER_OUTPUT_FIELDS}
        if fields:
            Cluster.objects.filter(pk=row.pk).update(**fields, updated_at=now)

    def claim_context(self, row: Cluster, step: Step) -> dict[str, Any]:
        return {}

    def succeeded(self, row: Cluster, step: Step, now: datetime) -> None:
        return None

    def finish(self, row: Cluster, phase: str) -> None:
        if phase == ClusterPhase.DELETE:
            cluster_transition(
                cluster=row, to=ClusterStatus.DELETED, message="The cluster is deleted."
            )
        else:
            cluster_transition(
                cluster=row,
                to=ClusterStatus.READY,
                message="Hangar read the cluster's endpoint and CA; teams may deploy on it.",
            )

    def fail(self, row: Cluster, step: str, result: Retry | Failed, hint: str) -> None:
        cluster_transition(
            cluster=row,
            to=ClusterStatus.FAILED,
            message=f"{step} failed",
            changes={"failure_step": step, "failure_message": result.error, "failure_hint": hint},
        )

    def executors(self) -> Mapping[str, Executor]:
        return {}


def cluster_schedule(*, cluster_id: int, countdown: float = 0) -> None:
    """Queue the cluster's next advance (at most one is ever queued)."""
    dispatch.schedule(KIND, cluster_id, countdown=countdown)
