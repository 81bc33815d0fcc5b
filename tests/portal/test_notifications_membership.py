"""A member removed from a team stops receiving that team's notifications: nothing new is
stored or mailed to them, and what they had no longer shows in the nav count the page polls
(every 15 s) nor on the notifications page."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from deployments.choices import Status
from deployments.services.transitions import deployment_transition
from portal.models import Membership, Notification
from portal.notifications import notifications_recent, notifications_unread_count
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _deployment(team: Any, user: Any, slug: str) -> Any:
    return DeploymentFactory(team=team, slug=slug, status=Status.DEPLOYING, requested_by=user)


def test_a_removed_member_hears_nothing_more_of_the_team(
    team: Any, other_team: Any, deployer: Any
) -> None:
    deployer.email = "dev@example.com"
    deployer.save()
    Membership.objects.create(team=other_team, user=deployer, role="deployer")
    before = _deployment(team, deployer, "before")
    deployment_transition(deployment=before, to=Status.READY)
    assert notifications_unread_count(user=deployer) == 1  # a member hears it
    client = Client()
    client.force_login(deployer)
    assert b'<span class="count">1</span>' in client.get("/notifications/count/").content

    Membership.objects.filter(team=team, user=deployer).delete()
    mail.outbox.clear()
    after = _deployment(team, deployer, "after")
    deployment_transition(deployment=after, to=Status.FAILED)
    elsewhere = _deployment(other_team, deployer, "elsewhere")
    deployment_transition(deployment=elsewhere, to=Status.READY)

    # Nothing new of the team they left, by notification or by email; their other team's news
    # still comes.
    assert [n.message for n in notifications_recent(user=deployer)] == [
        "elsewhere is ready: chat with it in the playground."
    ]
    assert [m.subject for m in mail.outbox] == ["[Hangar] elsewhere is ready"]
    assert not Notification.objects.filter(user=deployer, message__startswith="after").exists()
    # What they had of the team is no longer shown: not in the polled count, not on the page.
    assert notifications_unread_count(user=deployer) == 1
    assert b'<span class="count">1</span>' in client.get("/notifications/count/").content
    page = client.get("/notifications/").content
    assert b"before is ready" not in page and b"elsewhere is ready" in page

    # Back in the team, its news (and what was kept) shows again.
    Membership.objects.create(team=team, user=deployer, role="deployer")
    assert notifications_unread_count(user=deployer) == 1  # unseen while they were away
    assert len(notifications_recent(user=deployer)) == 2
