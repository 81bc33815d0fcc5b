"""The deployment page's timeline at length: the page shows its newest rows a page at a
time, and the poll (every 2 s while rolling) sends only the rows from the cursor the last
answer gave, again while a step is in flight, so a step's change is never missed."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deployments.choices import OWNER_KIND, Status
from deployments.models import Deployment
from deployments.views import TIMELINE_PAGE_SIZE
from runbook.models import Outcome, StepRun
from tests.factories import UserFactory
from tests.page_rows import fill_deployments, fill_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def rolling(team: Any) -> Deployment:
    return fill_deployments(team, [UserFactory(username="asker")], 1, status=Status.DEPLOYING)[0]


@pytest.fixture
def viewer(approver: Any) -> Client:
    client = Client()
    client.force_login(approver)
    return client


def _rows(html: str) -> list[str]:
    return re.findall(r'<li class="event[^"]*" data-at="(\d+)"', html)


def _cursor(html: str) -> str:
    found = re.search(r'data-timeline-cursor="(\d+)"', html)
    assert found, "the live section carries no cursor"
    return found.group(1)


def _poll(client: Client, deployment: Deployment, after: str) -> str:
    url = reverse("deployments:timeline", args=[deployment.pk])
    response = client.get(url, {"after": after})
    assert response.status_code == 200
    return response.content.decode()


def _run(deployment: Deployment, *, outcome: Outcome, age: timedelta) -> StepRun:
    return StepRun.objects.create(
        owner_kind=OWNER_KIND,
        owner_id=deployment.pk,
        created_at=timezone.now() - age,
        phase="deploy",
        attempt=1,
        step="build_image",
        outcome=outcome,
    )


def test_the_page_shows_the_newest_rows_and_pages_back_to_the_oldest(
    viewer: Client, rolling: Deployment
) -> None:
    fill_timeline(rolling, 2 * TIMELINE_PAGE_SIZE + 50)
    url = reverse("deployments:detail", args=[rolling.pk])

    newest = viewer.get(url).content.decode()
    oldest = viewer.get(url, {"timeline": 3}).content.decode()

    assert len(_rows(newest)) == TIMELINE_PAGE_SIZE
    assert len(_rows(oldest)) == 50
    assert max(_rows(oldest)) < min(_rows(newest))
    assert _rows(newest) == sorted(_rows(newest))  # oldest first within a page
    assert "Page 1 of 3" in newest and "timeline=2" in newest
    # An older page does not grow: it polls for itself, without a cursor.
    assert "data-timeline-cursor" not in oldest
    assert "/timeline/?timeline=3" in oldest


def test_the_poll_sends_only_the_rows_written_since_its_cursor(
    viewer: Client, rolling: Deployment
) -> None:
    fill_timeline(rolling, 300)  # all settled, over a minute old
    page = viewer.get(reverse("deployments:detail", args=[rolling.pk])).content.decode()
    cursor = _cursor(page)

    assert _rows(_poll(viewer, rolling, cursor)) == []

    step = _run(rolling, outcome=Outcome.RUNNING, age=timedelta(0))
    answer = _poll(viewer, rolling, cursor)

    assert len(_rows(answer)) == 1 and "build_image" in answer
    assert f'data-timeline-since="{cursor}"' in answer
    # The step is in flight: the next cursor still covers it.
    assert int(_cursor(answer)) <= int(_rows(answer)[0])
    assert step.outcome == Outcome.RUNNING


def test_a_step_in_flight_is_sent_again_until_it_settles(
    viewer: Client, rolling: Deployment
) -> None:
    fill_timeline(rolling, 20)
    step = _run(rolling, outcome=Outcome.WAITING, age=timedelta(minutes=5))
    cursor = _cursor(viewer.get(reverse("deployments:detail", args=[rolling.pk])).content.decode())

    StepRun.objects.filter(pk=step.pk).update(outcome=Outcome.SUCCEEDED)
    answer = _poll(viewer, rolling, cursor)

    assert "outcome-succeeded" in answer and "build_image" in answer
    # Settled, and older than the settling margin: the next poll leaves it out.
    assert _rows(_poll(viewer, rolling, _cursor(answer))) == []


@pytest.mark.parametrize("cursor", ["yesterday", "-1", "999999999999999999", "9" * 40, "²"])
def test_a_cursor_that_is_no_time_gets_the_whole_first_page(
    viewer: Client, rolling: Deployment, cursor: str
) -> None:
    fill_timeline(rolling, 10)

    html = _poll(viewer, rolling, cursor)

    assert len(_rows(html)) == 10
    assert "data-timeline-since" not in html
