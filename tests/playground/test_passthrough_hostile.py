"""The OpenAI passthrough under hostile requests: refused with a 4xx before anything is taken,
never a 5xx, and a stream slot always given back."""

import pytest
import requests

from tests.playground.test_openai_passthrough import MESSAGES, wait_for_usage

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, deployment, token, body=None, route="chat/completions", data=None):
    return requests.post(
        f"{server.url}/api/v1/deployments/{deployment.pk}/openai/v1/{route}",
        json=body,
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=20,
    )


@pytest.mark.parametrize("options", ["yes", 1, ["include_usage"], True, {"include_usage": "yes"}])
def test_stream_options_that_are_not_an_object_are_refused_and_hold_no_slot(
    portal_server, endpoint, team_token, sandbox, options
):
    body = {"model": "gemma3:4b", "messages": MESSAGES, "stream": True, "stream_options": options}
    for _ in range(4):  # the server allows 2 streams per user: leaked slots would show
        response = post(portal_server, endpoint, team_token, body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "validation_failed"
    assert sandbox.requests(path_regex="^/_run/.*/v1/chat/completions$") == []
    body["stream_options"] = {"include_usage": True}
    for _ in range(3):
        assert post(portal_server, endpoint, team_token, body).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"messages": MESSAGES, "stream": "yes"},
        {"messages": MESSAGES, "model": 7},
        {"messages": MESSAGES, "model": "m" * 201},
    ],
)
def test_fields_hangar_reads_must_have_their_type(portal_server, endpoint, team_token, body):
    response = post(portal_server, endpoint, team_token, body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"messages": NaN}',
        b"\xff\xfe",
        b"[]",
    ],
    ids=["deep-list", "deep-object", "nan", "not-utf8", "not-an-object"],
)
def test_bodies_that_are_not_a_json_object_are_a_400(portal_server, endpoint, team_token, data):
    response = post(portal_server, endpoint, team_token, data=data)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_failed"


def test_a_prompt_of_token_ids_is_the_endpoints_to_judge(portal_server, endpoint, team_token):
    # OpenAI's API allows token ids; Ollama's /v1 (the sandbox) takes text only, and says so.
    body = {"model": "gemma3:4b", "prompt": [101, 202, 303], "max_tokens": 3, "stream": True}
    for _ in range(3):
        response = post(portal_server, endpoint, team_token, body, route="completions")
        assert response.status_code == 400, response.text
        assert "prompt must be a string" in response.json()["error"]["message"]
    for _ in range(3):  # and the slots came back
        ok = {"model": "gemma3:4b", "prompt": "hi", "max_tokens": 2, "stream": True}
        assert post(portal_server, endpoint, team_token, ok, route="completions").ok
    assert len(wait_for_usage(3)) == 3
