"""The deployment page's timeline in Chromium while a rollout runs: the 2 s poll asks with
the cursor the page holds and gets only the newer rows, which join the rows the page
already shows; a step in flight changes in place when it settles."""

from typing import Any

import pytest
from django.utils import timezone

from deployments.choices import OWNER_KIND, Status
from deployments.views import TIMELINE_PAGE_SIZE
from runbook.models import Outcome, StepRun
from tests.factories import DeploymentFactory
from tests.page_rows import fill_timeline
from tests.playground import test_browser
from tests.playground.test_browser_pages import open_as

browser = test_browser.browser  # Chromium, as the playground's browser tests start it

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

ROWS = "#deployment-live ol.timeline > li"


def test_the_poll_adds_only_new_rows_to_those_the_page_shows(
    browser: Any, portal_server: Any, team: Any, deployer: Any
) -> None:
    deployment: Any = DeploymentFactory(team=team, slug="rolling", status=Status.DEPLOYING)
    fill_timeline(deployment, TIMELINE_PAGE_SIZE + 20)
    page = open_as(browser, portal_server, deployer)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/timeline/" in r.url else None)
    page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
    page.wait_for_selector("#deployment-live .live-dot")
    assert page.locator(ROWS).count() == TIMELINE_PAGE_SIZE

    step = StepRun.objects.create(
        owner_kind=OWNER_KIND,
        owner_id=deployment.pk,
        created_at=timezone.now(),
        phase="deploy",
        attempt=1,
        step="build_image",
        outcome=Outcome.WAITING,
    )
    page.wait_for_selector(f"{ROWS}.outcome-waiting:has-text('build_image')", timeout=20_000)
    assert page.locator(ROWS).count() == TIMELINE_PAGE_SIZE + 1

    StepRun.objects.filter(pk=step.pk).update(outcome=Outcome.SUCCEEDED)
    page.wait_for_selector(f"{ROWS}.outcome-succeeded:has-text('build_image')", timeout=20_000)
    assert page.locator(ROWS).count() == TIMELINE_PAGE_SIZE + 1
    assert polls and all("after=" in url for url in polls)
