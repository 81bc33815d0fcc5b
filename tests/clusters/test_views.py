"""The cluster pages' retry and removal take a bounded reason: one too long is refused with
a message on the cluster's page, and nothing changes; one within bounds is recorded."""

import pytest
from django.urls import reverse

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from tests.factories import platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    return Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="shared",
        status=ClusterStatus.READY,
        owned_by_hangar=False,
    )


@pytest.mark.parametrize("action", ["retry", "remove"])
def test_a_reason_too_long_is_refused_and_nothing_changes(client, registered, action):
    client.force_login(platform_admin("root"))
    url = reverse(f"clusters:{action}", args=[registered.pk])
    reply = client.post(url, {"reason": "x" * 501}, follow=True)
    assert reply.status_code == 200
    assert "at most 500 characters" in reply.content.decode()
    registered.refresh_from_db()
    assert registered.status == ClusterStatus.READY
    assert not registered.events.exists()


def test_a_removal_records_its_reason(client, registered):
    client.force_login(platform_admin("root"))
    client.post(reverse("clusters:remove", args=[registered.pk]), {"reason": "x" * 500})
    registered.refresh_from_db()
    assert registered.status == ClusterStatus.DELETED
    assert registered.events.get().message == "x" * 500
