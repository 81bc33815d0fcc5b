"""Notifications do not pile up as new: opening the page a notification is about (or
having it open while news arrives) marks that notification read; others stay new."""

from typing import Any

import pytest
from django.urls import reverse

from portal.models import Notification
from portal.notifications import notifications_unread_count, notify
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def about(deployment: Any, user: Any, message: str) -> Notification:
    note = notify(
        user=user,
        subject=message,
        message=message,
        link=reverse("deployments:detail", args=[deployment.pk]),
        team=deployment.team,
    )
    assert note is not None
    return note


@pytest.mark.parametrize("page", ["deployments:detail", "deployments:timeline"])
def test_seeing_a_deployment_marks_its_notifications_read(
    client: Any, team: Any, deployer: Any, page: str
) -> None:
    seen: Any = DeploymentFactory(team=team, requested_by=deployer, status="ready")
    other = DeploymentFactory(team=team, requested_by=deployer, status="ready")
    ready = about(seen, deployer, "seen is Ready")
    elsewhere = about(other, deployer, "other is Ready")
    client.force_login(deployer)
    assert notifications_unread_count(user=deployer) == 2

    assert client.get(reverse(page, args=[seen.pk])).status_code == 200

    ready.refresh_from_db()
    elsewhere.refresh_from_db()
    assert ready.read_at is not None
    assert elsewhere.read_at is None
    assert notifications_unread_count(user=deployer) == 1
