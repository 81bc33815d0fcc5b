"""Every page that lists what grows takes the same number of queries at 100 rows as at
10,000 (and with 1 pending request as with 50): nothing is read once per deployment,
request, event or team. Each test renders its page at the small size, grows the rows
with bulk_create, renders it again, and compares the two counts."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment, TeamGpuQuota
from deployments.views import APPROVALS_PAGE_SIZE, TIMELINE_PAGE_SIZE
from portal.models import Role, Team
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.page_rows import fill_deployments, fill_pending, fill_spend, fill_timeline

pytestmark = pytest.mark.django_db

SMALL, LARGE = 100, 10_000


def _queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response.content.decode()


def _same_count(client: Client, url: str, grow: Callable[[], None]) -> tuple[str, str]:
    small, small_html = _queries(client, url)
    grow()
    large, large_html = _queries(client, url)
    assert large == small, f"{url}: {small} queries before, {large} after the rows grew"
    return small_html, large_html


@pytest.fixture
def people(db: Any) -> list[Any]:
    return [UserFactory(username=f"person-{i}") for i in range(20)]


@pytest.fixture
def admin_client(approver: Any) -> Client:
    client = Client()
    client.force_login(approver)
    return client


def test_the_approvals_page_takes_the_same_queries_for_1_or_50_requests_among_10000(
    admin_client: Client, team: Any, other_team: Any, people: list[Any]
) -> None:
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=20_000)
    fill_deployments(team, people, SMALL)
    fill_pending(team, people, 1)

    def grow() -> None:
        fill_deployments(other_team, people, LARGE - SMALL)
        fill_pending(team, people, 25)
        fill_pending(other_team, people, 24)

    _, large = _same_count(admin_client, reverse("deployments:approvals"), grow)
    assert large.count('class="approval"') == APPROVALS_PAGE_SIZE
    assert f"1–{APPROVALS_PAGE_SIZE} of 50" in large
    # The quota line still counts what every live deployment holds: 100 of the team's
    # and its 26 requests, each request not counting itself.
    assert "team quota: 125 → 126 of 20000" in large
    assert "Needs a platform admin" in large


def test_the_team_page_and_list_take_the_same_queries_at_100_and_10000_deployments(
    team: Any, people: list[Any]
) -> None:
    MembershipFactory(team=team, user=people[0], role=Role.ADMIN)
    client = Client()
    client.force_login(people[0])
    fill_spend(fill_deployments(team, people, SMALL))
    pages = (reverse("team-detail", kwargs={"slug": team.slug}), reverse("team-list"))
    small = [_queries(client, url)[0] for url in pages]

    fill_spend(fill_deployments(team, people, LARGE - SMALL, prefix="more"))

    assert [_queries(client, url)[0] for url in pages] == small
    assert 'id="idle-deployments"' in _queries(client, pages[0])[1]


def test_the_spend_page_and_team_list_take_the_same_queries_for_3_or_300_teams(
    admin_client: Client, people: list[Any]
) -> None:
    def teams(start: int, count: int) -> None:
        for i in range(start, start + count):
            team = TeamFactory(slug=f"scale-{i}", name=f"Scale {i}")
            fill_spend(fill_deployments(team, people, 3))

    teams(0, 3)
    urls = (reverse("spend"), reverse("team-list"))
    for url in urls:
        _queries(admin_client, url)  # a first read, so that no warm-up is counted below
    small = [_queries(admin_client, url)[0] for url in urls]
    teams(3, 297)
    assert [_queries(admin_client, url)[0] for url in urls] == small
    assert Team.objects.count() == 300


def test_the_deployment_page_takes_the_same_queries_at_100_and_10000_events(
    admin_client: Client, team: Any, people: list[Any]
) -> None:
    deployment: Deployment = fill_deployments(team, people, 1, status=Status.DEPLOYING)[0]
    fill_timeline(deployment, SMALL)
    page = reverse("deployments:detail", kwargs={"pk": deployment.pk})
    poll = reverse("deployments:timeline", kwargs={"pk": deployment.pk})
    small = [_queries(admin_client, url)[0] for url in (page, poll)]
    cursor = re.search(r'data-timeline-cursor="(\d+)"', _queries(admin_client, page)[1])
    assert cursor
    small_poll = _queries(admin_client, f"{poll}?after={cursor.group(1)}")[0]

    fill_timeline(deployment, LARGE - SMALL)

    assert [_queries(admin_client, url)[0] for url in (page, poll)] == small
    count, answer = _queries(admin_client, f"{poll}?after={cursor.group(1)}")
    assert count == small_poll
    # The page holds one page of the timeline; the poll only what is newer than its cursor.
    assert _queries(admin_client, page)[1].count("data-at=") == TIMELINE_PAGE_SIZE
    assert "data-at=" not in answer


def test_the_deployment_lists_take_the_same_queries_at_100_and_10000_deployments(
    admin_client: Client, team: Any, people: list[Any]
) -> None:
    fill_deployments(team, people, SMALL)
    small = [_queries(admin_client, url)[0] for url in LISTS]

    fill_deployments(team, people, LARGE - SMALL, prefix="more")

    assert [_queries(admin_client, url)[0] for url in LISTS] == small


LISTS = ("/api/v1/deployments/?limit=50", "/deployments/")
