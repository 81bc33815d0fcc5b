"""The platform admins' cluster page: register, create, teams, remove; nobody else sees it."""

import pytest

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.transitions import cluster_transition
from portal.models import AuditEvent
from tests.factories import UserFactory, platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(platform_admin("root"))
    return client


def add(client, **fields):
    data = {
        "mode": "register",
        "project": "hangar-sandbox",
        "location": "us-central1",
        "name": "shared",
        "release_channel": "",
        "reason": "for the GKE targets",
        **fields,
    }
    return client.post("/admin/clusters/cluster/add/", data)


def test_register_from_the_admin(admin_client, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = add(admin_client, teams=[team.pk])
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster = Cluster.objects.get()
    assert cluster.status == ClusterStatus.REGISTERING
    assert list(cluster.teams.all()) == [team]
    assert len(queued) == 1
    assert AuditEvent.objects.get(action="cluster.register").reason == "for the GKE targets"


def test_create_from_the_admin_defaults_to_regular(admin_client):
    assert add(admin_client, mode="create", name="ap").status_code == 302
    cluster = Cluster.objects.get()
    assert cluster.owned_by_hangar and cluster.status == ClusterStatus.CREATING
    assert cluster.release_channel == "REGULAR"


def test_bad_name_shown_on_the_form(admin_client):
    response = add(admin_client, name="Not_Valid")
    assert response.status_code == 200
    assert "lowercase letter" in response.content.decode()
    assert not Cluster.objects.exists()


def test_remove_action_and_teams_edit(admin_client, team):
    add(admin_client, mode="create", name="ap")
    cluster = cluster_transition(cluster=Cluster.objects.get(), to=ClusterStatus.READY)
    response = admin_client.post(
        f"/admin/clusters/cluster/{cluster.pk}/change/", {"teams": [team.pk]}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="cluster.teams").exists()
    admin_client.post(
        "/admin/clusters/cluster/",
        {"action": "remove", "_selected_action": [cluster.pk]},
    )
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.DELETING


def test_staff_who_are_not_platform_admins_cannot_see_it(client):
    client.force_login(UserFactory(username="staffer", is_staff=True))
    assert client.get("/admin/clusters/cluster/").status_code == 403
