"""The playground page, conversation export, and usage on the deployment page."""

import json

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from deployments.choices import Status
from playground.models import Conversation, Message, UsageRecord
from portal.services import api_token_create
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(team):
    return DeploymentFactory(
        team=team,
        slug="ready-one",
        status=Status.READY,
        endpoint_url="http://127.0.0.1:1/_run/p/l/s",
    )


def test_page_lists_ready_endpoints_of_my_teams_only(client, deployer, ready, team, other_team):
    DeploymentFactory(team=team, slug="still-building", status=Status.DEPLOYING)
    DeploymentFactory(
        team=other_team, slug="not-mine", status=Status.READY, endpoint_url="http://x/"
    )
    client.force_login(deployer)
    page = client.get(reverse("playground:index"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "ready-one" in text
    assert "still-building" not in text and "not-mine" not in text
    assert (
        "vendor/marked/lib/marked.umd.js" in text and "vendor/dompurify/dist/purify.min.js" in text
    )
    assert (
        reverse("playground:index") in client.get(reverse("deployments:list")).content.decode()
    )  # in the nav


def test_page_says_when_there_is_nothing_to_chat_with(client, outsider):
    client.force_login(outsider)
    assert "has a ready endpoint yet" in client.get(reverse("playground:index")).content.decode()


def test_page_needs_sign_in(client):
    assert client.get(reverse("playground:index")).status_code == 302


def test_conversations_export_as_json_and_stay_private(client, deployer, outsider, ready):
    conversation = Conversation.objects.create(
        user=deployer,
        deployment=ready,
        title="Sky",
        model_name="gemma3:4b",
        params={"temperature": 0.7},
    )
    Message.objects.create(conversation=conversation, role="user", content="Why is the sky blue?")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Rayleigh.",
        reasoning="Think.",
        stats={"ttft_ms": 12},
    )
    client.force_login(deployer)
    response = client.get(reverse("playground:export", args=[conversation.pk]))
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="conversation-{conversation.pk}.json"'
    )
    data = json.loads(response.content)
    assert data["deployment"] == "ready-one" and data["model"] == "gemma3:4b"
    assert [(m["role"], m["content"], m["reasoning"]) for m in data["messages"]] == [
        ("user", "Why is the sky blue?", ""),
        ("assistant", "Rayleigh.", "Think."),
    ]
    assert data["messages"][1]["stats"] == {"ttft_ms": 12}
    everything = json.loads(client.get(reverse("playground:export_all")).content)
    assert [c["id"] for c in everything] == [conversation.pk]

    client.force_login(outsider)
    assert client.get(reverse("playground:export", args=[conversation.pk])).status_code == 404
    assert client.get(reverse("playground:conversation", args=[conversation.pk])).status_code == 404
    assert json.loads(client.get(reverse("playground:export_all")).content) == []
    assert client.post(reverse("playground:delete", args=[conversation.pk])).status_code == 404
    client.force_login(deployer)
    client.post(reverse("playground:delete", args=[conversation.pk]))
    assert not Conversation.objects.exists()


def test_deployment_page_shows_usage_per_user_and_token(client, deployer, team_admin, team, ready):
    token, _ = api_token_create(team=team, owner=team_admin, name="ci-bot")
    UsageRecord.objects.create(
        deployment=ready, user=deployer, source="playground", prompt_tokens=10, completion_tokens=20
    )
    UsageRecord.objects.create(
        deployment=ready,
        user=deployer,
        source="playground",
        prompt_tokens=5,
        completion_tokens=7,
        estimated=True,
    )
    UsageRecord.objects.create(
        deployment=ready,
        user=team_admin,
        api_token=token,
        source="api",
        prompt_tokens=100,
        completion_tokens=300,
    )
    client.force_login(deployer)
    text = " ".join(
        strip_tags(
            client.get(reverse("deployments:detail", args=[ready.pk])).content.decode()
        ).split()
    )
    assert f"API token “ci-bot” ({token.prefix}…) 1 100 300" in text
    assert "dev Playground 2 ≈15 ≈27" in text
    assert "Total3 ≈115 ≈327" in text  # strip_tags joins the th and td
    assert "Chat with it in the playground" in text
