"""In Chromium: a conversation whose deployment is gone reopens read-only, says why, and
nothing of it is sent to the deployment that is still ready (issue 22, item 7)."""

import pytest

from deployments.choices import Status
from playground.models import Conversation, Message
from tests.factories import DeploymentFactory
from tests.playground import test_browser
from tests.playground.test_browser_pages import open_as

browser = test_browser.browser  # Chromium, as the playground's browser tests start it

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _conversation(user, deployment) -> Conversation:
    conversation = Conversation.objects.create(
        user=user, deployment=deployment, title="Sky", model_name="gemma3:4b"
    )
    Message.objects.create(conversation=conversation, role="user", content="Why is the sky blue?")
    Message.objects.create(conversation=conversation, role="assistant", content="Rayleigh.")
    return conversation


def test_a_torn_down_deployments_conversation_opens_read_only(
    browser, portal_server, team, deployer
):
    gone = DeploymentFactory(team=team, slug="old-gemma", status=Status.TORN_DOWN)
    DeploymentFactory(
        team=team,
        slug="new-qwen",
        status=Status.READY,
        endpoint_url="http://127.0.0.1:1/_run/p/l/s",
    )
    conversation = _conversation(deployer, gone)
    page = open_as(browser, portal_server, deployer)
    chats = []
    page.on("request", lambda r: chats.append(r.url) if "/api/chat" in r.url else None)
    page.goto(f"{portal_server.url}/playground/")
    page.wait_for_selector("#pg-form", state="visible")

    page.click(f"a[data-conversation='{conversation.pk}']")
    note = page.wait_for_selector("#pg-read-only", state="visible")
    assert "old-gemma" in note.text_content() and "torn down" in note.text_content()
    assert page.text_content(".pg-user .pg-body") == "Why is the sky blue?"
    assert "Rayleigh." in page.text_content(".pg-assistant .pg-body")
    assert not page.is_visible("#pg-form")  # no send box
    # Enter in the (hidden) prompt sends nothing, least of all to new-qwen.
    page.evaluate("document.getElementById('pg-form').requestSubmit()")
    page.wait_for_timeout(300)
    assert chats == []

    page.click("#pg-new")  # a new conversation may use the ready deployment
    page.wait_for_selector("#pg-form", state="visible")
    assert not page.is_visible("#pg-read-only")


def test_a_conversation_reads_when_nothing_is_ready_to_chat_with(
    browser, portal_server, team, deployer
):
    gone = DeploymentFactory(team=team, slug="old-gemma", status=Status.TORN_DOWN)
    conversation = _conversation(deployer, gone)
    page = open_as(browser, portal_server, deployer)
    page.goto(f"{portal_server.url}/playground/")
    assert "has a ready endpoint yet" in page.text_content(".pg-main")

    page.click(f"a[data-conversation='{conversation.pk}']")
    note = page.wait_for_selector("#pg-read-only", state="visible")
    assert "old-gemma" in note.text_content() and "torn down" in note.text_content()
    assert page.text_content("#pg-title") == "Sky"
    assert "Rayleigh." in page.text_content(".pg-assistant .pg-body")
