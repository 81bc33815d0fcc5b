"""Clusters end to end: a real worker, the sandbox's container_v1, the cluster runner."""

import base64
import time

import pytest
from google.cloud import container_v1

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.services import cluster_create, cluster_register, cluster_remove
from portal.models import AuditEvent
from runbook.ledger import runs_of
from runbook.models import Outcome

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WHERE = {"project": "hangar-sandbox", "location": "us-central1"}
PARENT = "projects/hangar-sandbox/locations/us-central1"


def wait_cluster(cluster: Cluster, *statuses: ClusterStatus, timeout: float = 60) -> Cluster:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.refresh_from_db()
        if cluster.status in statuses:
            return cluster
        time.sleep(0.2)
    steps = list(runs_of("cluster", cluster.pk).values_list("step", "outcome", "error"))
    raise AssertionError(f"{cluster.name} is still {cluster.status}; steps: {steps}")


def test_create_waits_on_the_operation_then_reads_endpoint_and_ca(sandbox, worker, admin, team):
    sandbox.config(operation_delay=2)
    cluster = cluster_create(
        **WHERE, name="llm-ap", release_channel="RAPID", teams=[team], by=admin
    )
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    assert cluster.endpoint.startswith("127.0.0.1:")
    assert base64.b64decode(cluster.ca_certificate).startswith(b"-----BEGIN CERTIFICATE-----")
    assert cluster.workload_pool == "hangar-sandbox.svc.id.goog"
    assert cluster.release_channel == "RAPID" and cluster.autopilot
    create = runs_of("cluster", cluster.pk).get(step="create_cluster")
    assert create.operation.startswith(f"{PARENT}/operations/operation-")
    # The create was sent once; the wait was polling, not a second create.
    assert len(sandbox.requests(path_regex="/clusters$", method="POST")) == 1
    assert len(sandbox.requests(path_regex="/operations/operation-", method="GET")) >= 1

    removed = cluster_remove(cluster=cluster, by=admin, reason="not needed")
    removed = wait_cluster(removed, ClusterStatus.DELETED, ClusterStatus.FAILED)
    assert removed.status == ClusterStatus.DELETED, removed.failure_message
    actions = list(
        AuditEvent.objects.filter(object_type="clusters.Cluster").values_list("action", flat=True)
    )
    assert actions[::-1] == [
        "cluster.create",
        "cluster.ready",
        "cluster.deleting",
        "cluster.deleted",
    ]


def test_register_reads_an_existing_cluster(sandbox, worker, admin, team, gke):
    sandbox.config(operation_delay=2)
    gke.create_cluster(
        parent=PARENT,
        cluster=container_v1.Cluster(name="shared", autopilot=container_v1.Autopilot(enabled=True)),
    )
    cluster = cluster_register(**WHERE, name="shared", teams=[team], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    assert not cluster.owned_by_hangar
    # While GKE provisioned it, the read step waited (read again) instead of failing.
    assert len(sandbox.requests(path_regex="/clusters/shared$", method="GET")) >= 2
    assert cluster.release_channel == "REGULAR"
    assert cluster.endpoint == gke.get_cluster(name=f"{PARENT}/clusters/shared").endpoint


def test_register_a_cluster_that_is_not_there_fails_with_what_to_check(sandbox, worker, admin):
    cluster = cluster_register(**WHERE, name="nowhere", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.FAILED
    assert cluster.failure_step == "read_cluster"
    assert "has no cluster" in cluster.failure_message
    assert "gcloud container clusters list" in cluster.failure_hint


def test_transient_errors_are_retried(sandbox, worker, admin):
    sandbox.add_fault(method="POST", path="/clusters$", status=503, times=2)
    cluster = cluster_create(**WHERE, name="llm-ap", release_channel="RAPID", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    create = runs_of("cluster", cluster.pk).get(step="create_cluster")
    assert create.retries == 2 and create.outcome == Outcome.SUCCEEDED


def test_permission_denied_names_the_role(sandbox, worker, admin):
    sandbox.add_fault(
        method="POST", path="/clusters$", status=403, permission="container.clusters.create"
    )
    cluster = cluster_create(**WHERE, name="llm-ap", release_channel="RAPID", teams=[], by=admin)
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.FAILED
    assert "roles/container.admin" in cluster.failure_hint


def test_worker_killed_while_the_cluster_is_created_is_replaced_without_a_second_create(
    sandbox, start_worker, admin
):
    from tests.workers.helpers import wait_until

    sandbox.config(operation_delay=4)  # long enough to kill the worker while GKE works
    first = start_worker()
    cluster = cluster_create(**WHERE, name="llm-ap", release_channel="RAPID", teams=[], by=admin)

    def create_waiting():
        return (
            runs_of("cluster", cluster.pk)
            .filter(step="create_cluster", outcome=Outcome.WAITING)
            .exists()
        )

    wait_until(create_waiting, timeout=30, message="the create to be running")
    first.kill()
    start_worker()  # its beat finds the stalled cluster and moves it on
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED, timeout=90)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    assert len(sandbox.requests(path_regex="/clusters$", method="POST")) == 1
