"""The model server's streaming details a proxy relies on: thinking, completions, aborts."""

import json
import time

import pytest
import requests
from google.oauth2 import id_token

from tests.sandbox import helpers
from tests.sandbox.helpers import PARENT
from tests.sandbox.test_flow import bearer, grant_invoker


def _deploy(registry_client, build_client, run_client, model: str, service_id: str):
    helpers.create_repository(registry_client)
    image = helpers.image_uri(name=service_id)
    dockerfile = helpers.DOCKERFILE.replace("ENV MODEL gemma3:4b", f"ENV MODEL {model}")
    helpers.wait(
        build_client.create_build(parent=PARENT, build=helpers.image_build(image, dockerfile))
    )
    service = helpers.wait(
        run_client.create_service(
            parent=PARENT, service_id=service_id, service=helpers.gpu_service(image)
        )
    )
    grant_invoker(run_client, service)
    return service


@pytest.fixture
def gemma4(sandbox, registry_client, build_client, run_client):
    return _deploy(registry_client, build_client, run_client, "gemma4:e2b", "gemma-four")


@pytest.fixture
def gemma3(sandbox, registry_client, build_client, run_client):
    return _deploy(registry_client, build_client, run_client, "gemma3:4b", "gemma-three")


def _lines(response):
    return [json.loads(line) for line in response.iter_lines() if line]


def test_gemma4_thinks_before_answering_when_asked(gemma4, auth_request):
    headers = bearer(id_token.fetch_id_token(auth_request, gemma4.uri))
    body = {"model": "gemma4:e2b", "messages": [{"role": "user", "content": "Why?"}], "think": True}
    with requests.post(
        gemma4.uri + "/api/chat", json=body, headers=headers, stream=True, timeout=10
    ) as r:
        chunks = _lines(r)
    *parts, final = chunks
    thinking = [c["message"].get("thinking", "") for c in parts]
    content = [c["message"]["content"] for c in parts]
    first_content = next(i for i, text in enumerate(content) if text)
    assert all(thinking[:first_content]) and not any(thinking[first_content:])
    assert "".join(thinking).startswith("The user wrote: Why?.")
    assert "".join(content).startswith("Sandbox gemma4:e2b heard: Why?")
    assert final["eval_count"] == len(parts)

    plain = requests.post(
        gemma4.uri + "/api/chat",
        json={**body, "think": False, "stream": False},
        headers=headers,
        timeout=10,
    ).json()
    assert "thinking" not in plain["message"]


def test_thinking_is_refused_for_a_model_without_it(gemma3, auth_request):
    headers = bearer(id_token.fetch_id_token(auth_request, gemma3.uri))
    body = {"model": "gemma3:4b", "messages": [{"role": "user", "content": "hi"}], "think": True}
    response = requests.post(gemma3.uri + "/api/chat", json=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": '"gemma3:4b" does not support thinking'}


def test_text_completions_stream_with_usage(gemma3, auth_request):
    headers = bearer(id_token.fetch_id_token(auth_request, gemma3.uri))
    body = {
        "model": "gemma3:4b",
        "prompt": "Once upon",
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with requests.post(
        gemma3.uri + "/v1/completions", json=body, headers=headers, stream=True, timeout=10
    ) as r:
        events = [line[len("data: ") :] for line in r.iter_lines(decode_unicode=True) if line]
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    texts = [p["choices"][0]["text"] for p in payloads if p["choices"]]
    assert len(texts) == 5 and payloads[-2]["choices"][0]["finish_reason"] == "length"
    assert payloads[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}
    whole = requests.post(
        gemma3.uri + "/v1/completions", json={**body, "stream": False}, headers=headers, timeout=10
    ).json()
    assert whole["object"] == "text_completion" and whole["choices"][0]["text"] == "".join(texts)


def test_request_log_tells_a_finished_stream_from_an_abandoned_one(gemma3, auth_request, sandbox):
    headers = bearer(id_token.fetch_id_token(auth_request, gemma3.uri))
    body = {"model": "gemma3:4b", "messages": [{"role": "user", "content": "hi"}]}
    with requests.post(
        gemma3.uri + "/api/chat", json=body, headers=headers, stream=True, timeout=10
    ) as r:
        _lines(r)
    sandbox.config(token_delay=0.05)
    with requests.post(
        gemma3.uri + "/api/chat", json=body, headers=headers, stream=True, timeout=10
    ) as r:
        next(r.iter_lines())  # one token, then hang up
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = sandbox.requests(path_regex="/api/chat$")
        if entries[-1].get("stream"):
            break
        time.sleep(0.05)
    assert [e.get("stream") for e in entries] == ["completed", "client_gone"]
