"""A conversation keeps its deployment: once that is gone it opens read-only, saying why,
and the chat refuses to continue it on another deployment (issue 22, item 7)."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment
from playground.access_sql import access_sql_close
from playground.limits import limits_close
from playground.models import Conversation, Message
from playground.upstream import upstream_close
from tests.factories import DeploymentFactory


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _conversation(user, deployment) -> Conversation:
    conversation = Conversation.objects.create(
        user=user, deployment=deployment, title="Sky", model_name="gemma3:4b"
    )
    Message.objects.create(conversation=conversation, role="user", content="Why is the sky blue?")
    Message.objects.create(conversation=conversation, role="assistant", content="Rayleigh.")
    return conversation


@pytest.mark.django_db
def test_reopening_a_torn_down_deployments_conversation_is_read_only(client, deployer, team):
    gone = DeploymentFactory(team=team, slug="old-gemma", status=Status.TORN_DOWN)
    DeploymentFactory(
        team=team, slug="new-qwen", status=Status.READY, endpoint_url="http://127.0.0.1:1/x"
    )
    conversation = _conversation(deployer, gone)
    client.force_login(deployer)

    data = json.loads(
        client.get(reverse("playground:conversation", args=[conversation.pk])).content
    )
    assert data["deployment_id"] == gone.pk and data["deployment"] == "old-gemma"
    assert data["read_only"] is True
    assert "old-gemma" in data["read_only_reason"] and "torn down" in data["read_only_reason"]
    assert [m["content"] for m in data["messages"]] == ["Why is the sky blue?", "Rayleigh."]

    # The page lists it although no deployment of the conversation's is ready, and has the
    # place its messages are shown in even when nothing at all is ready to chat with.
    Deployment.objects.filter(slug="new-qwen").delete()
    page = client.get(reverse("playground:index")).content.decode()
    assert f'data-conversation="{conversation.pk}"' in page
    assert 'id="pg-log"' in page and 'id="pg-form"' not in page


@pytest.mark.django_db
def test_a_ready_deployments_conversation_opens_for_chat(client, deployer, team):
    ready = DeploymentFactory(
        team=team, slug="ready-one", status=Status.READY, endpoint_url="http://127.0.0.1:1/x"
    )
    failed = DeploymentFactory(team=team, slug="broken-one", status=Status.FAILED)
    client.force_login(deployer)
    data = client.get(
        reverse("playground:conversation", args=[_conversation(deployer, ready).pk])
    ).json()
    assert data["read_only"] is False and data["read_only_reason"] == ""
    data = client.get(
        reverse("playground:conversation", args=[_conversation(deployer, failed).pk])
    ).json()
    assert data["read_only"] is True
    assert "broken-one" in data["read_only_reason"] and "not ready" in data["read_only_reason"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.anyio
async def test_chat_refuses_to_continue_a_conversation_on_another_deployment(
    async_client, deployer, team
):
    gone = await sync_to_async(DeploymentFactory)(
        team=team, slug="old-gemma", status=Status.TORN_DOWN
    )
    other = await sync_to_async(DeploymentFactory)(
        team=team,
        slug="new-qwen",
        status=Status.READY,
        endpoint_url="http://127.0.0.1:1/_run/p/l/s",
    )
    conversation = await sync_to_async(_conversation)(deployer, gone)
    await async_client.aforce_login(deployer)
    try:
        response = await async_client.post(
            reverse("playground:chat"),
            {
                "deployment": other.pk,
                "conversation": conversation.pk,
                "messages": [{"role": "user", "content": "And at sunset?"}],
            },
            content_type="application/json",
        )
        assert response.status_code == 409
        error = json.loads(response.content)["error"]
        assert error["code"] == "conversation_elsewhere"
        assert "old-gemma" in error["message"] and "new conversation" in error["message"]
        assert error["conversation_deployment"] == gone.pk
        assert await Message.objects.filter(conversation=conversation).acount() == 2
        assert await Conversation.objects.acount() == 1
    finally:
        await upstream_close()
        await limits_close()
        await access_sql_close()
        await sync_to_async(connections.close_all)()
