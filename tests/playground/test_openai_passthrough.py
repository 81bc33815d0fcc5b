"""Other platforms: the official openai client against a private endpoint, with a team token."""

import time

import openai
import pytest
import requests

from playground.models import UsageRecord
from portal.models import ApiToken, Role
from portal.services import api_token_create
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "hello there"}]


def client(server, deployment, token):
    base = f"{server.url}/api/v1/deployments/{deployment.pk}/openai/v1"
    return openai.OpenAI(base_url=base, api_key=token, max_retries=0, timeout=20)


def wait_for_usage(count=1):
    # Usage is written in batches off the stream's path (playground/records.py); on a busy
    # machine a batch can take seconds to land.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and UsageRecord.objects.count() < count:
        time.sleep(0.05)
    return list(UsageRecord.objects.order_by("created_at"))


def test_streamed_chat_with_the_openai_client(
    portal_server, endpoint, team_token, team_admin, sandbox
):
    stream = client(portal_server, endpoint, team_token).chat.completions.create(
        model="gemma3:4b", messages=MESSAGES, stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Sandbox gemma3:4b heard: hello there.")
    # The client did not ask for usage: Hangar asked for it upstream and kept it to itself.
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    upstream = sandbox.requests(path_regex="/v1/chat/completions$")[-1]
    assert upstream["body"]["stream_options"] == {"include_usage": True}
    assert upstream["authorization"] is True

    [usage] = wait_for_usage()
    token = ApiToken.objects.get(team=endpoint.team)
    assert (usage.user, usage.api_token, usage.source) == (team_admin, token, "api")
    assert (usage.prompt_tokens, usage.estimated) == (2, False)
    assert usage.completion_tokens == len([c for c in chunks if c.choices[0].delta.content])


def test_usage_the_client_asks_for_reaches_it(portal_server, endpoint, team_token):
    stream = client(portal_server, endpoint, team_token).chat.completions.create(
        model="gemma3:4b", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    last = list(stream)[-1]
    assert last.choices == [] and last.usage.prompt_tokens == 2


def test_whole_reply_completions_and_models(portal_server, endpoint, team_token):
    api = client(portal_server, endpoint, team_token)
    whole = api.chat.completions.create(model="gemma3:4b", messages=MESSAGES)
    assert whole.choices[0].message.content.startswith("Sandbox gemma3:4b heard")
    assert whole.usage.prompt_tokens == 2
    completion = api.completions.create(
        model="gemma3:4b", prompt="Once upon", max_tokens=4, stream=True
    )
    assert len([c for c in completion if c.choices]) == 4
    assert [m.id for m in api.models.list()] == ["gemma3:4b"]
    records = wait_for_usage(2)
    assert [(r.completion_tokens, r.estimated) for r in records] == [
        (whole.usage.completion_tokens, False),
        (4, False),
    ]


def test_refused_without_a_valid_token_of_the_team(
    portal_server, endpoint, other_team, outsider, sandbox
):
    with pytest.raises(openai.AuthenticationError):
        client(portal_server, endpoint, "hgr_nope_nope").models.list()
    boss = MembershipFactory(team=other_team, user=UserFactory(username="boss"), role=Role.ADMIN)
    _, foreign = api_token_create(team=other_team, owner=boss.user, name="other")
    with pytest.raises(openai.NotFoundError):
        client(portal_server, endpoint, foreign).chat.completions.create(
            model="gemma3:4b", messages=MESSAGES
        )
    anonymous = requests.get(
        f"{portal_server.url}/api/v1/deployments/{endpoint.pk}/openai/v1/models", timeout=10
    )
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert sandbox.requests(path_regex="^/_run/") == []


def test_upstream_errors_reach_the_client_as_api_errors(
    portal_server, endpoint, team_token, sandbox
):
    sandbox.add_fault(path="^/_run/", status=429)
    with pytest.raises(openai.RateLimitError) as caught:
        client(portal_server, endpoint, team_token).chat.completions.create(
            model="gemma3:4b", messages=MESSAGES, stream=True
        )
    assert "busy" in str(caught.value)
    with pytest.raises(openai.NotFoundError):  # the endpoint's own 404, passed on
        client(portal_server, endpoint, team_token).chat.completions.create(
            model="llama3", messages=MESSAGES
        )


def test_the_credential_stays_server_side(portal_server, endpoint, team_token, sandbox):
    url = f"{portal_server.url}/api/v1/deployments/{endpoint.pk}/openai/v1/chat/completions"
    body = {"model": "gemma3:4b", "messages": MESSAGES, "stream": True}
    with requests.post(
        url, json=body, headers={"Authorization": f"Bearer {team_token}"}, stream=True, timeout=10
    ) as response:
        raw = response.raw.read().decode()
    assert raw.rstrip().endswith("data: [DONE]")
    assert "eyJ" not in raw and "eyJ" not in str(response.headers)
