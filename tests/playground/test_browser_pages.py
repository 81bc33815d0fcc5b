"""A person's view of the portal's pages in Chromium: what they see change without a reload,
and what one click leads to. The portal runs under uvicorn (tests/playground/conftest.py)."""

from typing import Any

import pytest

from deployments.choices import Status
from deployments.services.transitions import deployment_transition
from tests.factories import DeploymentFactory
from tests.playground.conftest import deploy_service, sign_in
from tests.playground.test_browser import browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def open_as(browser: Any, portal_server: Any, user: Any) -> Any:  # noqa: F811
    """A page signed in as `user` (the session cookie from the login form)."""
    http = sign_in(portal_server, user)
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": portal_server.url} for c in http.cookies]
    )
    return context.new_page()


def test_ready_appears_live_and_chat_is_one_click_away(
    browser,  # noqa: F811
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
    page.wait_for_selector(".live-dot")

    deployment_transition(
        deployment=deployment, to=Status.READY, changes={"endpoint_url": service.uri}
    )

    chat = page.wait_for_selector("a:has-text('Chat in the playground')", timeout=30_000)
    assert "/openai/v1/chat/completions" in page.text_content(".ready-box pre")
    assert page.query_selector(".live-dot") is None  # settled: polling stopped
    chat.click()
    page.wait_for_selector("#pg-model option[value='gemma3:4b']", state="attached")
    page.fill("#pg-prompt", "Hello")
    page.click("#pg-send")
    page.wait_for_function(
        "() => document.querySelector('.pg-assistant .pg-body')?.textContent.includes('heard')",
        timeout=30_000,
    )
