"""Cluster operations that go wrong as GKE's do, through a real worker: one that never
ends fails at its deadline naming it and its last state; a create that failed on quota is
retried by removing the ERROR cluster Hangar made (a step on the record) and creating it
again; an ERROR cluster Hangar did not make is never removed."""

import os
import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import container_v1

from clusters.choices import ClusterStatus
from clusters.plans import CLUSTER_OPERATION_DEADLINE
from clusters.services import cluster_create, cluster_remove, cluster_retry
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.workers.helpers import scale_deadlines
from tests.workers.test_rollout_clusters import PARENT, WHERE, wait_cluster

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# What GKE says when a region's Compute Engine quota is short
# (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/cluster-autoscaler-scale-up).
SHORT_OF_CPUS = (
    'Insufficient regional quota to satisfy request: resource "CPUS": request requires '
    "'12.0' and is short '4.0'. project has a quota of '8.0' with '8.0' available."
)
# The deadlines the worker keeps, shrunk so a wait that never ends ends within the test.
DEADLINE_SCALE = 0.003


@pytest.fixture
def scaled_deadlines(monkeypatch):
    scale_deadlines(monkeypatch, DEADLINE_SCALE)


def _status(gke, name: str) -> str:
    found = gke.get_cluster(name=f"{PARENT}/clusters/{name}")
    return container_v1.Cluster.Status(found.status).name


def test_an_operation_that_never_ends_fails_at_its_deadline_naming_it_and_its_state(
    scaled_deadlines, sandbox, start_worker, admin
):
    assert os.environ["ROLLOUT_DEADLINE_SCALE"] == str(DEADLINE_SCALE)
    sandbox.config(operation_delay=0.5)
    sandbox.add_fault(kind="operation_stuck", method="POST", path="/clusters$")
    start_worker()
    cluster = cluster_create(**WHERE, name="llm-stuck", release_channel="RAPID", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED, timeout=90)

    assert cluster.status == ClusterStatus.FAILED
    assert cluster.failure_step == "create_cluster"
    create = runs_of("cluster", cluster.pk).get(step="create_cluster")
    assert create.operation.startswith(f"{PARENT}/operations/operation-")
    message = cluster.failure_message
    assert "Create the Autopilot cluster llm-stuck" in message
    assert create.operation in message
    assert (
        f"past its deadline of {CLUSTER_OPERATION_DEADLINE.seconds * DEADLINE_SCALE:.0f} s"
        in message
    )
    assert CLUSTER_OPERATION_DEADLINE.reason in message
    assert "Last known state: GKE reports the operation RUNNING." in message
    # It waited on the one operation: the create was sent once.
    assert len(sandbox.requests(path_regex="/clusters$", method="POST")) == 1


def test_retrying_a_create_that_failed_on_quota_removes_its_error_cluster_and_creates_it(
    sandbox, worker, admin, gke
):
    sandbox.config(operation_delay=1)
    sandbox.add_fault(
        kind="operation_error", method="POST", path="/clusters$", code=8, message=SHORT_OF_CPUS
    )
    cluster = cluster_create(**WHERE, name="llm-ap", release_channel="REGULAR", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.FAILED
    assert cluster.failure_step == "create_cluster"
    assert "RESOURCE_EXHAUSTED" in cluster.failure_message
    # The hint names the GKE quota and region, not Cloud Run's max instances.
    assert "Compute Engine quota CPUS in us-central1" in cluster.failure_hint
    assert "max instances" not in cluster.failure_hint
    assert _status(gke, "llm-ap") == "ERROR"  # GKE keeps it, as it does

    cluster = cluster_retry(cluster=cluster, by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    retried = runs_of("cluster", cluster.pk).filter(attempt=cluster.attempt)
    removal = retried.get(step="remove_failed_cluster")
    assert removal.outcome == Outcome.SUCCEEDED
    assert removal.detail["message"] == "Removed the cluster llm-ap GKE had left in ERROR."
    assert [r.step for r in retried.order_by("pk")] == [
        "remove_failed_cluster",
        "create_cluster",
        "read_cluster",
    ]
    # One removal, one create again, and one cluster under that name, running.
    assert len(sandbox.requests(path_regex="/clusters/llm-ap$", method="DELETE")) == 1
    assert len(sandbox.requests(path_regex="/clusters$", method="POST")) == 2
    assert _status(gke, "llm-ap") == "RUNNING"

    removed = cluster_remove(cluster=cluster, by=admin, reason="done")
    removed = wait_cluster(removed, ClusterStatus.DELETED, ClusterStatus.FAILED)
    assert removed.status == ClusterStatus.DELETED, removed.failure_message
    with pytest.raises(gexc.NotFound):
        gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")


def test_an_error_cluster_hangar_did_not_make_is_never_removed(sandbox, worker, admin, gke):
    sandbox.config(operation_delay=0.5)
    sandbox.add_fault(kind="operation_error", method="POST", path="/clusters$", code=8)
    gke.create_cluster(  # someone else's: no managed-by label
        parent=PARENT,
        cluster=container_v1.Cluster(name="theirs", autopilot=container_v1.Autopilot(enabled=True)),
    )
    deadline = time.monotonic() + 20
    while _status(gke, "theirs") != "ERROR":
        assert time.monotonic() < deadline, "their create never failed"
        time.sleep(0.1)

    cluster = cluster_create(**WHERE, name="theirs", release_channel="REGULAR", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.FAILED
    assert cluster.failure_step == "create_cluster"
    assert "Hangar did not create it" in cluster.failure_message
    removal = runs_of("cluster", cluster.pk).get(step="remove_failed_cluster")
    assert "Hangar did not make it: left alone" in removal.detail["message"]

    cluster = wait_cluster(
        cluster_retry(cluster=cluster, by=admin), ClusterStatus.READY, ClusterStatus.FAILED
    )
    assert cluster.status == ClusterStatus.FAILED
    assert sandbox.requests(path_regex="/clusters/theirs$", method="DELETE") == []
    assert _status(gke, "theirs") == "ERROR"
