"""The same handlers as async Django views (for reverse() and Django's test client)."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.urls import reverse

from playground.access_sql import access_sql_close
from playground.limits import limits_close
from playground.models import UsageRecord
from playground.upstream import upstream_close

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
async def _close_clients():
    """Under uvicorn the lifespan shutdown closes these; here each test's loop does."""
    yield
    await upstream_close()
    await limits_close()
    await access_sql_close()
    # The async client ran Django's sync parts on asgiref's thread; close its connection.
    await sync_to_async(connections.close_all)()


async def _body(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


async def test_chat_view_streams_the_same_events(async_client, endpoint, deployer, sandbox):
    await async_client.aforce_login(deployer)
    body = {"deployment": endpoint.pk, "messages": [{"role": "user", "content": "hi"}]}
    response = await async_client.post(
        reverse("playground:chat"), body, content_type="application/json"
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    text = (await _body(response)).decode()
    assert text.startswith("event: start") and "event: token" in text
    assert "event: done" in text
    assert await UsageRecord.objects.filter(deployment=endpoint).acount() == 1


async def test_openai_view_needs_a_team_token(async_client, endpoint, team_token, sandbox):
    url = reverse("playground-openai", args=[endpoint.pk, "models"])
    refused = await async_client.get(url)
    assert refused.status_code == 401
    response = await async_client.get(url, headers={"Authorization": f"Bearer {team_token}"})
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["gemma3:4b"]
