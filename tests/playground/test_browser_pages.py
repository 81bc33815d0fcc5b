"""A person's view of the portal's pages in Chromium: what they see change without a reload,
and what one click leads to. The portal runs under uvicorn (tests/playground/conftest.py)."""

from typing import Any

import pytest

from deployments.choices import Status
from deployments.services.transitions import deployment_transition
from tests.factories import DeploymentFactory
from tests.playground import test_browser
from tests.playground.conftest import deploy_service, sign_in

browser = test_browser.browser  # Chromium, as the playground's browser tests start it

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def open_as(browser: Any, portal_server: Any, user: Any) -> Any:
    """A page signed in as `user` (the session cookie from the login form)."""
    http = sign_in(portal_server, user)
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": portal_server.url} for c in http.cookies]
    )
    return context.new_page()


def test_ready_appears_live_and_chat_is_one_click_away(
    browser,
    portal_server,
    team,
    deployer,
    sandbox,
    registry_client,
    build_client,
    run_client,
):
    service = deploy_service(registry_client, build_client, run_client, "gemma3:4b", "ready-gemma")
    deployment = DeploymentFactory(team=team, slug="ready-gemma", status=Status.DEPLOYING)
    sandbox.config(model_load_delay=0, token_delay=0)
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
    page.wait_for_selector("#deployment-live .live-dot")

    deployment_transition(
        deployment=deployment, to=Status.READY, changes={"endpoint_url": service.uri}
    )

    chat = page.wait_for_selector("a:has-text('Chat in the playground')", timeout=30_000)
    assert "/openai/v1/chat/completions" in page.text_content(".ready-box pre")
    # Settled: the live section stopped polling (the logs panel keeps its own pace).
    assert page.query_selector("#deployment-live .live-dot") is None
    chat.click()
    page.wait_for_selector("#pg-model option[value='gemma3:4b']", state="attached")
    page.fill("#pg-prompt", "Hello")
    page.click("#pg-send")
    page.wait_for_function(
        "() => document.querySelector('.pg-assistant .pg-body')?.textContent.includes('heard')",
        timeout=30_000,
    )


def test_a_failed_request_is_edited_and_requested_again(browser, portal_server, team, deployer):
    failed = DeploymentFactory(
        team=team,
        slug="too-big",
        status=Status.FAILED,
        failure_step="deploy_service",
        failure_message="400 BadRequest: Quota exceeded for total allowable nvidia-l4 GPUs.",
    )
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/deployments/{failed.pk}/")
    assert "Quota exceeded" in page.text_content(".failure")

    page.click("text=Edit and request again")
    page.wait_for_selector(".resubmit-note")
    assert page.input_value("input[name=slug]") == "too-big-2"
    assert page.input_value("input[name=cpu]") == str(failed.spec["cpu"])
    page.fill("input[name=max_instances]", "1")
    page.click("button:has-text('Request deployment')")

    page.wait_for_selector("h1:has-text('too-big-2')")
    assert page.url != f"{portal_server.url}/deployments/{failed.pk}/"


def test_the_live_estimate_names_the_bad_field_and_its_limit(
    browser, portal_server, team, deployer
):
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/deployments/new/")
    page.wait_for_selector(".estimate-figures", state="attached")

    page.fill("input[name=cpu]", "999")
    page.press("input[name=cpu]", "Tab")  # leaving the field is a change

    refused = page.wait_for_selector(".estimate-refused li")
    text = refused.text_content()
    assert text.startswith("CPUs:") and "at most 20" in text  # the field and its limit
    page.fill("input[name=cpu]", "8")
    page.press("input[name=cpu]", "Tab")
    page.wait_for_selector(".estimate-figures", state="attached")


def test_a_failure_reaches_the_requester_in_the_nav_without_a_reload(
    browser, portal_server, team, deployer
):
    deployment = DeploymentFactory(
        team=team, slug="will-fail", status=Status.DEPLOYING, requested_by=deployer
    )
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/teams/")
    assert page.query_selector(".nav-notifications .count") is None

    deployment_transition(
        deployment=deployment,
        to=Status.FAILED,
        changes={"failure_step": "build_image", "failure_message": "Build step 0 failed."},
    )

    count = page.wait_for_selector(".nav-notifications .count", timeout=40_000)
    assert count.text_content() == "1"
    page.click(".nav-notifications")
    item = page.wait_for_selector(".notification-list li.unread")
    assert "will-fail failed at build_image: Build step 0 failed." in item.text_content()
    item.query_selector("a").click()
    page.wait_for_selector(".failure:has-text('Build step 0 failed.')")
    assert page.query_selector(".nav-notifications .count") is None  # seen


def test_the_spend_chart_is_drawn_with_axes_and_labels(browser, portal_server, team, member):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from deployments.models import CostAccrual

    deployment = DeploymentFactory(team=team, slug="spendy")
    now = timezone.now()
    CostAccrual.objects.create(
        deployment=deployment,
        team=team,
        period_start=now - timedelta(hours=1),
        period_end=now,
        amount=Decimal("1037.27"),
        hourly_rate=Decimal("1037.27"),
    )
    page = open_as(browser, portal_server, member)
    page.goto(f"{portal_server.url}/teams/{team.slug}/")

    page.wait_for_function("() => window.Chart?.getChart(document.querySelector('canvas'))")
    chart = page.evaluate(
        """() => { const c = Chart.getChart(document.querySelector('canvas'));
        return {x: c.options.scales.x.title.text, y: c.options.scales.y.title.text,
                labels: c.data.labels.length, ticks: c.scales.y.ticks.map(t => t.label)}; }"""
    )
    assert (chart["x"], chart["y"]) == ("Day", "Spend (USD)")
    assert chart["labels"] >= 28
    assert any(label.startswith("$1,") for label in chart["ticks"])


def test_the_logs_panel_shows_the_builds_lines_from_cloud_logging(
    browser, portal_server, team, deployer, sandbox, registry_client, build_client
):
    from tests.sandbox import helpers

    helpers.create_repository(registry_client)
    build = helpers.wait(
        build_client.create_build(
            parent=helpers.PARENT,
            build=helpers.image_build(helpers.image_uri(name="paneled"), helpers.DOCKERFILE),
        )
    )
    deployment = DeploymentFactory(
        team=team,
        status=Status.DEPLOYING,
        outputs={"build": f"{helpers.PARENT}/builds/{build.id}"},
    )
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")

    lines = page.wait_for_selector(".log-panel .log-lines", timeout=30_000)
    text = lines.text_content()
    assert text.index("DONE") < text.index(f'starting build "{build.id}"')  # newest first
    assert f"Build {build.id}" in page.text_content(".log-panel summary")
    assert page.query_selector("#deployment-logs .live-dot")  # re-read while it rolls
