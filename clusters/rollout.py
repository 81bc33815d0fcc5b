"""Running a cluster plan: the cluster's counterpart of deployments/services/rollout.py.

Same contract and the same step results (Succeeded, Waiting, Retry, Failed), so an
executor reads the same way whichever runner calls it: a step row with a lease is
written before any Google call, a long operation is polled by a check queued with a
countdown (never a sleep), and a worker killed mid-step is replaced once its lease runs
out. What differs is what a cluster is: no spend clock, no endpoint, and what a step
reads (endpoint, CA, version) lands on the cluster row itself.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.choices import CLUSTER_ROLLING_STATES, PHASE_OF_STATUS, ClusterPhase, ClusterStatus
from clusters.dispatch import cluster_schedule
from clusters.models import Cluster, ClusterEvent
from clusters.plans import ClusterPlan, ClusterRef, cluster_plan
from clusters.transitions import cluster_transition
from deployments.choices import IN_FLIGHT_OUTCOMES, EventKind, Outcome
from deployments.plans.base import Step
from deployments.services.rollout import (
    Failed,
    Retry,
    StepResult,
    Succeeded,
    Waiting,
    rollout_backoff,
    rollout_check_early,
    rollout_lease_until,
    rollout_next_step,
)

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


@dataclass(frozen=True)
class ClusterClaim:
    cluster_id: int
    event_id: int
    lease_owner: str
    step: Step
    operation: str
    retries: int
    started_at: Any


def _cfg() -> dict[str, Any]:
    return settings.ROLLOUT


def plan_for_cluster(cluster: Cluster, phase: ClusterPhase) -> ClusterPlan:
    ref = ClusterRef(
        cluster.project, cluster.location, cluster.name, cluster.release_channel,
        autopilot=cluster.autopilot,
    )  # fmt: skip
    return cluster_plan(phase, ref)


def cluster_claim(*, cluster_id: int) -> ClusterClaim | None:
    """Take the next step of the cluster's plan, or finish it; None when nothing runs now."""
    now = timezone.now()
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None or cluster.status not in CLUSTER_ROLLING_STATES:
            return None
        phase = PHASE_OF_STATUS[ClusterStatus(cluster.status)]
        plan = plan_for_cluster(cluster, phase)
        owner = uuid.uuid4().hex
        event = _in_flight(cluster, phase, now)
        if isinstance(event, bool):  # another worker holds it, or a check is queued
            return None
        if event is None:
            step = _next_step(cluster, plan)
            if step is None:
                _finish(cluster, phase)
                return None
            event = ClusterEvent.objects.create(
                cluster=cluster,
                kind=EventKind.STEP,
                phase=phase,
                attempt=cluster.attempt,
                step=step.key,
                outcome=Outcome.RUNNING,
                started_at=now,
                lease_owner=owner,
                lease_expires_at=rollout_lease_until(now),
                message=step.title,
            )
        else:
            event.lease_owner = owner
            event.lease_expires_at = rollout_lease_until(now)
            event.save(update_fields=["lease_owner", "lease_expires_at"])
        Cluster.objects.filter(pk=cluster.pk).update(updated_at=now)
        return ClusterClaim(
            cluster_id=cluster.pk,
            event_id=event.pk,
            lease_owner=owner,
            step=plan.step(event.step),
            operation=event.operation,
            retries=event.retries,
            started_at=event.started_at,
        )


def _in_flight(cluster: Cluster, phase: ClusterPhase, now: Any) -> ClusterEvent | bool | None:
    """The in-flight step this worker may take over, False if it must not, None if none."""
    event = ClusterEvent.objects.filter(
        cluster=cluster, kind=EventKind.STEP, outcome__in=IN_FLIGHT_OUTCOMES
    ).first()
    if event is None:
        return None
    held = event.lease_expires_at is not None and event.lease_expires_at > now
    if event.phase != phase or event.attempt != cluster.attempt:
        if held:
            return False
        # A newer plan (a removal after a failure) overtook it.
        event.outcome = Outcome.ABANDONED
        event.finished_at = now
        event.save(update_fields=["outcome", "finished_at"])
        return None
    if held:
        return False
    if rollout_check_early(event.not_before, now):
        return False  # a check is already queued for later
    return event


def _next_step(cluster: Cluster, plan: ClusterPlan) -> Step | None:
    return rollout_next_step(
        ClusterEvent.objects.filter(cluster=cluster),
        phase=plan.phase,
        attempt=cluster.attempt,
        steps=plan.steps,
    )


def _finish(cluster: Cluster, phase: ClusterPhase) -> None:
    if phase == ClusterPhase.DELETE:
        cluster_transition(
            cluster=cluster, to=ClusterStatus.DELETED, message="The cluster is deleted."
        )
    else:
        cluster_transition(
            cluster=cluster,
            to=ClusterStatus.READY,
            message="Hangar read the cluster's endpoint and CA; teams may deploy on it.",
        )


def cluster_record(*, claim: ClusterClaim, result: StepResult) -> None:
    """Store what a step did and queue what comes next. A lost lease records nothing."""
    now = timezone.now()
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=claim.cluster_id)
        event = ClusterEvent.objects.select_for_update().get(pk=claim.event_id)
        if event.lease_owner != claim.lease_owner or event.outcome not in IN_FLIGHT_OUTCOMES:
            return
        event.lease_owner = ""
        event.lease_expires_at = None
        event.not_before = None
        outputs = getattr(result, "outputs", None) or {}
        fields = {k: v for k, v in outputs.items() if k in CLUSTER_OUTPUT_FIELDS}
        if fields:
            Cluster.objects.filter(pk=cluster.pk).update(**fields, updated_at=now)
        message = getattr(result, "message", "")
        if message:
            event.detail = {**event.detail, "message": message}
        if isinstance(result, Succeeded):
            event.outcome = Outcome.SUCCEEDED
            event.finished_at = now
            event.error = ""
            event.save()
            cluster_schedule(cluster_id=cluster.pk)
        elif isinstance(result, Waiting):
            event.outcome = Outcome.WAITING
            event.operation = result.operation
            _check_later(event, now, rollout_backoff(0))
        elif isinstance(result, Retry) and event.retries < _cfg()["MAX_RETRIES"]:
            event.retries += 1
            event.error = result.error
            _check_later(event, now, rollout_backoff(event.retries))
        else:
            _fail(cluster, event, result, now)


def _check_later(event: ClusterEvent, now: Any, countdown: float) -> None:
    event.not_before = now + timedelta(seconds=countdown)
    event.save()
    cluster_schedule(cluster_id=event.cluster_id, countdown=countdown)


def _fail(cluster: Cluster, event: ClusterEvent, result: Retry | Failed, now: Any) -> None:
    hint = (
        result.hint
        if isinstance(result, Failed)
        else f"Google kept answering with a transient error after {event.retries} retries."
    )
    event.outcome = Outcome.FAILED
    event.finished_at = now
    event.error = result.error
    event.save()
    cluster_transition(
        cluster=cluster,
        to=ClusterStatus.FAILED,
        message=f"{event.step} failed",
        changes={"failure_step": event.step, "failure_message": result.error, "failure_hint": hint},
    )


def clusters_stalled_ids() -> list[int]:
    """Clusters the worker drives that nothing touched for a while: their task was lost."""
    cutoff = timezone.now() - timedelta(seconds=_cfg()["STALL_SECONDS"])
    return list(
        Cluster.objects.filter(
            status__in=[s.value for s in CLUSTER_ROLLING_STATES], updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )


def clusters_requeue_stalled() -> int:
    """Queue the next step of every cluster plan whose task was lost; how many were."""
    stalled = clusters_stalled_ids()
    for cluster_id in stalled:
        cluster_schedule(cluster_id=cluster_id)
    return len(stalled)
