"""The cluster create plan with a worker lost at every step boundary, on a retry that must
first remove the ERROR cluster a failed create left: before each step's call, and after
the call but before its result is recorded. The next worker finishes; GKE ends with one
cluster of that name, running, removed once and created once more."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from clusters.choices import ClusterPhase, ClusterStatus
from clusters.models import Cluster
from clusters.rollout import plan_for_cluster
from clusters.services import cluster_create, cluster_retry
from gcp import container
from runbook import ledger
from runbook.models import IN_FLIGHT_OUTCOMES, StepRun
from runbook.runner import advance, run_step
from tests.factories import platform_admin

pytestmark = pytest.mark.django_db

NAME = "crash-ap"
WHERE = {"project": "hangar-sandbox", "location": "us-central1"}


def _due_now(cluster):
    StepRun.objects.filter(
        owner_kind="cluster", owner_id=cluster.pk, outcome__in=IN_FLIGHT_OUTCOMES
    ).update(lease_expires_at=timezone.now() - timedelta(seconds=1), not_before=None)
    Cluster.objects.filter(pk=cluster.pk).update(advance_due_at=None)


def _drive(cluster, *, crash: bool, timeout=60):
    """Advance until the cluster leaves its rolling state; with `crash`, the first claim of
    each step loses the worker before the call, the second after it."""
    crashed: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.refresh_from_db()
        if cluster.status in (ClusterStatus.READY, ClusterStatus.FAILED):
            return crashed
        _due_now(cluster)
        if not crash:
            advance("cluster", cluster.pk)
            time.sleep(0.02)
            continue
        claim = ledger.claim("cluster", cluster.pk)
        if claim is None:
            time.sleep(0.02)  # not claimable yet: no spinning on the database meanwhile
            continue
        before, after = (claim.step.key, "before"), (claim.step.key, "after")
        if before not in crashed:
            crashed.append(before)
        elif after not in crashed:
            crashed.append(after)
            run_step(claim)  # the call reached GKE; its result is lost with the worker
        else:
            ledger.record(claim=claim, result=run_step(claim))
        time.sleep(0.02)
    raise AssertionError(f"{cluster.name} is still {cluster.status}")


def test_a_retried_create_survives_a_worker_lost_at_every_boundary(sandbox):
    admin = platform_admin("root")
    sandbox.config(operation_delay=0.2)
    sandbox.add_fault(kind="operation_error", method="POST", path="/clusters$", code=8)
    cluster = cluster_create(**WHERE, name=NAME, release_channel="REGULAR", teams=[], by=admin)
    _drive(cluster, crash=False)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.FAILED

    # Long enough that the worker after a lost removal finds the cluster still STOPPING.
    sandbox.config(operation_delay=1.5)
    cluster = cluster_retry(cluster=cluster, by=admin)
    crashed = _drive(cluster, crash=True)
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    steps = [s.key for s in plan_for_cluster(cluster, ClusterPhase.CREATE).steps]
    assert crashed == [(key, when) for key in steps for when in ("before", "after")]
    info = container.get_cluster(f"projects/hangar-sandbox/locations/us-central1/clusters/{NAME}")
    assert info.status == "RUNNING"
    # Removed once (the retry's), created twice (the failed one and the retry's).
    deletes = sandbox.requests(path_regex=f"/clusters/{NAME}$", method="DELETE")
    assert len(deletes) == 1
    assert len(sandbox.requests(path_regex="/clusters$", method="POST")) >= 2
