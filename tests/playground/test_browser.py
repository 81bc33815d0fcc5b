"""A person's view: Chromium signs in, opens the playground and watches a reply stream in."""

import shutil

import pytest
from django.db import connections

from deployments.choices import Status
from tests.factories import DeploymentFactory
from tests.playground.conftest import deploy_service, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The sandbox model repeats the prompt, so this reaches the page as model output.
INJECTION = 'Hi <img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> **bold**'


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop marked as running in this thread; the
    # test's own ORM calls are still plain synchronous ones (Playwright's documented advice).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing; scripts/test installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection (asgiref's
        # Local is per context then); close it, or the test database cannot be dropped.
        connections.close_all()


def test_sign_in_chat_and_see_the_reply_stream_in(
    browser, portal_server, endpoint, deployer, sandbox
):
    sandbox.config(model_load_delay=0, token_delay=0.03)
    sign_in(portal_server, deployer)  # sets the password the form below uses
    page = browser.new_page()
    page.goto(portal_server.url + "/login/")
    page.fill("input[name=username]", "dev")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.click("text=Playground")
    page.wait_for_selector("#pg-model option[value='gemma3:4b']", state="attached")

    page.fill("#pg-prompt", INJECTION)
    page.click("#pg-send")
    page.wait_for_selector(".pg-assistant.pg-streaming")
    reply = page.locator(".pg-assistant .pg-body")
    page.wait_for_function(
        "() => document.querySelector('.pg-assistant .pg-body')?.textContent.includes('Sandbox gemma3:4b heard')"
    )
    assert page.is_enabled("#pg-stop")  # still streaming
    page.wait_for_selector(".pg-assistant .pg-stats")
    stats = page.text_content(".pg-stats")
    assert "first token" in stats and "tokens/s" in stats and "completion tokens" in stats

    # Markdown rendered, nothing the model said could run.
    assert reply.locator("strong").first.text_content() == "bold"
    assert page.evaluate("window.pwned") is None
    html = reply.inner_html()
    assert "onerror" not in html and "<script" not in html

    assert page.get_attribute("#pg-export", "href").endswith("/export/")  # it was stored
    assert page.text_content("#pg-conversations a").startswith("Hi <img")  # and listed


def test_stop_button_ends_the_reply(browser, portal_server, endpoint, deployer, sandbox):
    sandbox.config(model_load_delay=0, token_delay=0.1)
    http = sign_in(portal_server, deployer)
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": portal_server.url} for c in http.cookies]
    )
    page = context.new_page()
    page.goto(portal_server.url + "/playground/")
    page.wait_for_selector("#pg-model option", state="attached")
    page.fill("#pg-prompt", "Tell me a long story")
    page.press("#pg-prompt", "Enter")  # Enter sends
    page.wait_for_function(
        "() => document.querySelector('.pg-assistant .pg-body')?.textContent.includes('Sandbox')"
    )
    page.click("#pg-stop")
    page.wait_for_selector("#pg-status:has-text('Stopped')")
    assert page.is_enabled("#pg-send")


def test_reasoning_is_shown_folded(
    browser, portal_server, team, deployer, sandbox, registry_client, build_client, run_client
):
    service = deploy_service(registry_client, build_client, run_client, "gemma4:e2b", "fold-gemma4")
    deployment = DeploymentFactory(
        team=team, status=Status.READY, endpoint_url=service.uri, model="gemma4-e2b"
    )
    sandbox.config(model_load_delay=0, token_delay=0)
    http = sign_in(portal_server, deployer)
    context = browser.new_context()
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": portal_server.url} for c in http.cookies]
    )
    page = context.new_page()
    page.goto(f"{portal_server.url}/playground/?deployment={deployment.pk}")
    page.wait_for_selector("#pg-think-label:not([hidden])")  # Gemma 4 can reason
    page.fill("#pg-prompt", "Why?")
    page.click("#pg-send")
    page.wait_for_selector(".pg-stats")
    folded = page.locator(".pg-assistant details.pg-reasoning")
    assert folded.get_attribute("open") is None
    assert folded.locator(".pg-reasoning-text").text_content().startswith("The user wrote: Why?")
    assert page.text_content(".pg-assistant .pg-body").startswith("Sandbox gemma4:e2b heard")
