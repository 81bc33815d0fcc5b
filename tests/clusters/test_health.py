"""The clusters' reconcile (clusters/health.py) when a round meets a race or a failing
listener: it never aborts the round, and never leaves a cluster lost whose rows were not
told. GKE's answer is played by a stub here; tests/workers/test_cluster_state_kept.py
plays the whole path against the sandbox."""

import pytest
from google.api_core import exceptions as gexc

from clusters import health
from clusters.choices import ClusterStatus
from clusters.models import Cluster

pytestmark = pytest.mark.django_db


def _ready(name: str) -> Cluster:
    return Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name=name,
        status=ClusterStatus.READY,
        attempt=1,
        owned_by_hangar=True,
    )


def test_a_cluster_removed_during_the_round_does_not_stop_the_others(monkeypatch):
    moved, gone = _ready("moved"), _ready("gone")

    def get_cluster(name: str):
        if name == moved.resource_name:
            # A removal asked while GKE was being read: the row is no longer ready.
            Cluster.objects.filter(pk=moved.pk).update(status=ClusterStatus.DELETING)
        raise gexc.NotFound("no such cluster")

    monkeypatch.setattr(health.container, "get_cluster", get_cluster)

    assert health.clusters_check() == [gone.pk]
    moved.refresh_from_db()
    gone.refresh_from_db()
    assert moved.status == ClusterStatus.DELETING
    assert gone.status == ClusterStatus.LOST


def test_a_listener_that_fails_leaves_the_cluster_ready_to_be_marked_again(monkeypatch):
    cluster = _ready("flaky")
    monkeypatch.setattr(
        health.container, "get_cluster", lambda name: (_ for _ in ()).throw(gexc.NotFound("x"))
    )
    heard: list[int] = []

    def failing(lost: Cluster, reason: str) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(health, "_LOST_LISTENERS", [failing])
    with pytest.raises(RuntimeError):
        health.clusters_check()
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.READY
    assert not cluster.events.filter(to_status=ClusterStatus.LOST).exists()

    monkeypatch.setattr(health, "_LOST_LISTENERS", [lambda lost, reason: heard.append(lost.pk)])
    assert health.clusters_check() == [cluster.pk]
    assert heard == [cluster.pk]
