"""Cluster services: what is refused, what is recorded, and when the worker is queued."""

import pytest

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.selectors import clusters_open_to
from clusters.services import (
    cluster_create,
    cluster_register,
    cluster_remove,
    cluster_retry,
    cluster_teams_set,
)
from clusters.transitions import cluster_transition
from deployments.choices import Status
from portal.exceptions import InvalidTransition, ValidationFailed
from portal.models import AuditEvent
from runbook.models import StepRun
from tests.factories import DeploymentFactory, platform_admin

pytestmark = pytest.mark.django_db

WHERE = {"project": "hangar-sandbox", "location": "us-central1"}


@pytest.fixture
def admin():
    return platform_admin("root")


def test_register_records_and_queues(admin, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        cluster = cluster_register(**WHERE, name="shared", teams=[team], by=admin)
    assert len(queued) == 1
    assert cluster.status == ClusterStatus.REGISTERING
    assert not cluster.owned_by_hangar
    audit = AuditEvent.objects.get(action="cluster.register")
    assert audit.actor == admin
    assert audit.after["teams"] == ["ml-research"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"project": "X"}, "project"),
        ({"location": "us central"}, "location"),
        ({"name": "Has_Caps"}, "name"),
        ({"name": "a" * 41}, "name"),
        ({"name": "ends-"}, "name"),
    ],
)
def test_bad_names_refused_on_the_field(admin, fields, field):
    with pytest.raises(ValidationFailed) as info:
        cluster_register(**{**WHERE, "name": "ok", **fields}, teams=[], by=admin)
    assert field in info.value.fields
    assert not Cluster.objects.exists()


def test_same_cluster_twice_refused_until_deleted(admin):
    first = cluster_register(**WHERE, name="shared", teams=[], by=admin)
    with pytest.raises(ValidationFailed):
        cluster_create(**WHERE, name="shared", release_channel="RAPID", teams=[], by=admin)
    cluster_transition(cluster=first, to=ClusterStatus.READY)
    cluster_remove(cluster=first, by=admin, reason="gone")
    again = cluster_register(**WHERE, name="shared", teams=[], by=admin)
    assert again.pk != first.pk


def test_create_wants_a_region_and_a_channel(admin):
    with pytest.raises(ValidationFailed) as zone:
        cluster_create(
            project="hangar-sandbox",
            location="us-central1-a",
            name="ap",
            release_channel="RAPID",
            teams=[],
            by=admin,
        )
    assert "location" in zone.value.fields
    with pytest.raises(ValidationFailed) as channel:
        cluster_create(**WHERE, name="ap", release_channel="NIGHTLY", teams=[], by=admin)
    assert "release_channel" in channel.value.fields


def ready(cluster):
    """As the worker leaves it: its queued advance ran (so none is queued), it is ready."""
    Cluster.objects.filter(pk=cluster.pk).update(advance_due_at=None)
    return cluster_transition(cluster=cluster, to=ClusterStatus.READY)


def test_remove_deletes_what_hangar_created(admin, django_capture_on_commit_callbacks):
    cluster = ready(cluster_create(**WHERE, name="ap", release_channel="RAPID", teams=[], by=admin))
    with django_capture_on_commit_callbacks() as queued:
        removed = cluster_remove(cluster=cluster, by=admin, reason="unused")
    assert removed.status == ClusterStatus.DELETING
    assert removed.attempt == 2
    assert len(queued) == 1
    assert AuditEvent.objects.filter(action="cluster.deleting", reason="unused").exists()


def test_remove_forgets_a_registered_cluster_without_touching_it(
    admin, django_capture_on_commit_callbacks
):
    cluster = ready(cluster_register(**WHERE, name="shared", teams=[], by=admin))
    with django_capture_on_commit_callbacks() as queued:
        removed = cluster_remove(cluster=cluster, by=admin, reason="moved")
    assert removed.status == ClusterStatus.DELETED
    assert queued == []


def test_remove_refused_while_a_deployment_uses_it(admin, team):
    cluster = ready(
        cluster_create(**WHERE, name="ap", release_channel="RAPID", teams=[team], by=admin)
    )
    user = DeploymentFactory(team=team, slug="on-gke", status=Status.READY)
    user.spec = {**user.spec, "cluster": cluster.pk}
    user.save()
    with pytest.raises(InvalidTransition) as info:
        cluster_remove(cluster=cluster, by=admin, reason="x")
    assert "on-gke" in info.value.message
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.READY
    user.status = Status.TORN_DOWN
    user.save()
    assert cluster_remove(cluster=cluster, by=admin, reason="x").status == ClusterStatus.DELETING


def test_retry_resumes_the_failed_phase(admin):
    cluster = cluster_create(**WHERE, name="ap", release_channel="RAPID", teams=[], by=admin)
    StepRun.objects.create(
        owner_kind="cluster",
        owner_id=cluster.pk,
        phase="create",
        step="create_cluster",
        outcome="failed",
    )
    cluster_transition(cluster=cluster, to=ClusterStatus.FAILED)
    assert cluster_retry(cluster=cluster, by=admin).status == ClusterStatus.CREATING


def test_teams_choose_among_clusters_open_to_them(admin, team, other_team):
    shared = ready(cluster_register(**WHERE, name="shared", teams=[team], by=admin))
    ready(cluster_register(**WHERE, name="private", teams=[other_team], by=admin))
    cluster_register(**WHERE, name="not-yet", teams=[team], by=admin)
    assert list(clusters_open_to(team=team)) == [shared]
    cluster_teams_set(cluster=shared, teams=[team, other_team], by=admin, reason="share")
    assert AuditEvent.objects.get(action="cluster.teams").after == {
        "teams": ["ml-research", "search"]
    }
    assert set(clusters_open_to(team=other_team)) == {shared, Cluster.objects.get(name="private")}
