"""The playground's chat stream through uvicorn and the proxy to sandbox endpoints."""

import time

import pytest
import requests

from deployments.choices import Status
from playground.models import Conversation, Message, UsageRecord
from tests.factories import DeploymentFactory
from tests.playground.conftest import deploy_service, eventually, read_events, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]


def chat(http, server, deployment, **extra):
    body = {"deployment": deployment.pk, "messages": QUESTION, **extra}
    return http.post(server.url + "/playground/api/chat", json=body, stream=True, timeout=20)


def text_of(events, key="content"):
    return "".join(data.get(key, "") for name, data in events if name == "token")


def test_reply_streams_as_tokens_and_is_kept_and_counted(
    portal_server, endpoint, deployer, sandbox
):
    http = sign_in(portal_server, deployer)
    with chat(
        http, portal_server, endpoint, system="Be brief.", temperature=0.2, top_p=0.9, max_tokens=12
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["X-Accel-Buffering"] == "no"
        events = read_events(response)

    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done"
    assert names.count("token") == 12  # max_tokens reached the endpoint as num_predict
    assert text_of(events).startswith("Sandbox gemma3:4b heard: Why is the sky blue?")
    done = events[-1][1]
    assert done["finish_reason"] == "length"
    # Counts are Ollama's own (final NDJSON line), not an estimate.
    assert done["completion_tokens"] == 12 and done["estimated"] is False
    assert done["prompt_tokens"] == 7  # the sandbox counts words: system prompt and question
    assert done["ttft_ms"] >= 0

    upstream = sandbox.requests(path_regex="/api/chat$")[-1]
    assert upstream["authorization"] is True
    assert upstream["body"]["options"] == {"temperature": 0.2, "top_p": 0.9, "num_predict": 12}
    assert upstream["body"]["messages"][0] == {"role": "system", "content": "Be brief."}

    conversation = eventually(
        lambda: Conversation.objects.filter(pk=done["conversation_id"]).first()
    )
    assert conversation.user == deployer and conversation.deployment == endpoint
    assert conversation.title == "Why is the sky blue?"
    reply = Message.objects.get(pk=done["message_id"])
    assert reply.content == text_of(events) and reply.stats["completion_tokens"] == 12
    [usage] = eventually(lambda: list(UsageRecord.objects.all()))
    assert (usage.user, usage.api_token, usage.source) == (deployer, None, "playground")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (7, 12, False)

    # The next turn goes into the same conversation.
    with chat(http, portal_server, endpoint, conversation=conversation.pk) as response:
        events = read_events(response)
    assert events[-1][1]["conversation_id"] == conversation.pk
    assert eventually(lambda: conversation.messages.count() == 4)


def test_openai_style_upstream_gives_the_same_events(
    portal_server, team, deployer, sandbox, registry_client, build_client, run_client
):
    # A vLLM-type target speaks OpenAI SSE; the sandbox's Ollama /v1 does too.
    service = deploy_service(registry_client, build_client, run_client, "gemma3:4b", "chat-openai")
    deployment = DeploymentFactory(
        team=team,
        status=Status.READY,
        endpoint_url=service.uri,
        target="cloud-run-vllm",
        model="gemma-4-e2b-it",
    )
    http = sign_in(portal_server, deployer)
    # The upstream is Ollama's OpenAI-compatible /v1, so name the model it holds.
    with chat(http, portal_server, deployment, model="gemma3:4b") as response:
        events = read_events(response)
    assert text_of(events).startswith("Sandbox gemma3:4b heard: Why is the sky blue?")
    upstream = sandbox.requests(path_regex="/v1/chat/completions$")[-1]
    assert upstream["body"]["stream_options"] == {"include_usage": True}
    done = events[-1][1]
    assert done["estimated"] is False and done["prompt_tokens"] == 5
    assert done["completion_tokens"] == len([1 for n, d in events if n == "token"])


def test_no_session_is_refused(portal_server, endpoint):
    http = requests.Session()
    http.get(portal_server.url + "/login/", timeout=10)  # a CSRF cookie, but nobody signed in
    response = http.post(
        portal_server.url + "/playground/api/chat",
        json={"deployment": endpoint.pk, "messages": QUESTION},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    bare = requests.post(
        portal_server.url + "/playground/api/chat",
        json={"deployment": endpoint.pk, "messages": QUESTION},
        timeout=10,
    )
    assert bare.status_code == 403  # no CSRF token: Django's check refuses before anything else


def test_another_team_sees_no_such_deployment(portal_server, endpoint, outsider, sandbox):
    http = sign_in(portal_server, outsider)
    response = chat(http, portal_server, endpoint)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (
        http.get(
            f"{portal_server.url}/playground/api/deployments/{endpoint.pk}/models", timeout=10
        ).status_code
        == 404
    )
    assert sandbox.requests(path_regex="^/_run/") == []


def test_a_deployment_not_ready_has_nothing_to_chat_with(portal_server, team, deployer):
    deployment = DeploymentFactory(team=team, status=Status.DEPLOYING)
    http = sign_in(portal_server, deployer)
    response = chat(http, portal_server, deployment)
    assert response.status_code == 409


def test_the_upstream_credential_never_reaches_the_browser(
    portal_server, endpoint, deployer, sandbox
):
    http = sign_in(portal_server, deployer)
    with chat(http, portal_server, endpoint) as response:
        raw = response.raw.read().decode()
        headers = str(response.headers)
    assert sandbox.requests(path_regex="/api/chat$")[-1]["authorization"] is True
    for seen in (raw, headers):
        assert "Bearer" not in seen and "eyJ" not in seen  # no header, no JWT


def test_cold_start_sends_progress_then_the_reply(portal_server, endpoint, deployer, sandbox):
    sandbox.config(model_load_delay=1.2)
    http = sign_in(portal_server, deployer)
    with chat(http, portal_server, endpoint) as response:
        events = read_events(response)
    warming = [data for name, data in events if name == "warming"]
    assert len(warming) >= 2
    assert warming[0]["message"].startswith("Waiting for the model")
    first_token = next(i for i, (name, _) in enumerate(events) if name == "token")
    assert all(name != "warming" for name, _ in events[first_token:])
    assert events[-1][0] == "done" and events[-1][1]["ttft_ms"] >= 1000


def test_cold_start_past_the_limit_says_what_happened(portal_server, endpoint, deployer, sandbox):
    sandbox.config(model_load_delay=6)  # the test server's limit is 3 s
    http = sign_in(portal_server, deployer)
    started = time.monotonic()
    with chat(http, portal_server, endpoint) as response:
        events = read_events(response)
    assert time.monotonic() - started < 5
    name, data = events[-1]
    assert name == "error" and data["code"] == "upstream_timeout"
    assert "loading its model" in data["message"]
    time.sleep(0.5)  # past the records' flush (playground/records.py)
    assert not UsageRecord.objects.exists()  # nothing generated, nothing counted
    # The question the cold start journaled meanwhile is let go with the stream: no
    # writer takes it up later (as one would, had the server died waiting).
    _journal_recover()
    assert not Conversation.objects.exists()


def _journal_recover() -> int:
    """Another process's writer, an hour on, takes up what the server left in its journal."""
    import asyncio

    from playground import records
    from playground.access_sql import access_sql_close, access_sql_open

    async def recover() -> int:
        await access_sql_open()
        try:
            return await records._writer().recover(now=time.time() + 3600)
        finally:
            await access_sql_close()

    return asyncio.run(recover())


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (429, "upstream_busy", "busy (HTTP 429"),
        (401, "upstream_auth", "refused Hangar's credential"),
        (500, "upstream_error", "HTTP 500"),
    ],
)
def test_upstream_errors_come_back_clearly(
    portal_server, endpoint, deployer, sandbox, status, code, words
):
    sandbox.add_fault(path="^/_run/", status=status)
    http = sign_in(portal_server, deployer)
    with chat(http, portal_server, endpoint) as response:
        events = read_events(response)
    name, data = events[-1]
    assert (name, data["code"]) == ("error", code)
    assert words in data["message"]


def test_a_503_while_instances_start_is_waited_out(portal_server, endpoint, deployer, sandbox):
    sandbox.add_fault(path="^/_run/", status=503, times=2)
    http = sign_in(portal_server, deployer)
    with chat(http, portal_server, endpoint) as response:
        events = read_events(response)
    assert events[-1][0] == "done"
    assert [e["status"] for e in sandbox.requests(path_regex="/api/chat$")] == [503, 503, 200]


def test_stop_cancels_the_upstream_request_and_keeps_what_came(
    portal_server, endpoint, deployer, sandbox
):
    sandbox.config(model_load_delay=0, token_delay=0.05)
    http = sign_in(portal_server, deployer)
    response = chat(http, portal_server, endpoint)
    lines = response.iter_lines(decode_unicode=True)
    while "token" not in next(lines):
        pass
    response.close()  # the stop button aborts the fetch; a closed tab does the same

    deadline = time.monotonic() + 30  # records land in batches (playground/records.py)
    while time.monotonic() < deadline and not sandbox.requests(path_regex="/api/chat$")[-1].get(
        "stream"
    ):
        time.sleep(0.05)
    assert sandbox.requests(path_regex="/api/chat$")[-1]["stream"] == "client_gone"
    while time.monotonic() < deadline and not UsageRecord.objects.exists():
        time.sleep(0.05)
    usage = UsageRecord.objects.get()
    assert usage.estimated is True and 1 <= usage.completion_tokens < 40
    reply = eventually(lambda: Message.objects.filter(role="assistant").first())
    assert reply.content.startswith("Sandbox") and reply.stats["estimated"] is True


def test_concurrent_streams_per_user_are_capped(portal_server, endpoint, deployer, sandbox):
    sandbox.config(model_load_delay=0, token_delay=0.05)
    http = sign_in(portal_server, deployer)
    first, second = chat(http, portal_server, endpoint), chat(http, portal_server, endpoint)
    assert (first.status_code, second.status_code) == (200, 200)
    third = chat(http, portal_server, endpoint)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "too_many_streams"
    read_events(first)
    first.close()
    read_events(second)
    second.close()
    time.sleep(0.2)  # the slot is given back once the response has ended
    with chat(http, portal_server, endpoint) as fourth:
        assert fourth.status_code == 200
        read_events(fourth)


def test_gemma4_reasoning_arrives_apart_from_the_answer(
    portal_server, team, deployer, sandbox, registry_client, build_client, run_client
):
    service = deploy_service(registry_client, build_client, run_client, "gemma4:e2b", "chat-gemma4")
    deployment = DeploymentFactory(
        team=team, status=Status.READY, endpoint_url=service.uri, model="gemma4-e2b"
    )
    http = sign_in(portal_server, deployer)
    models = http.get(
        f"{portal_server.url}/playground/api/deployments/{deployment.pk}/models", timeout=10
    ).json()
    assert models["default"] == "gemma4:e2b" and models["supports_reasoning"] is True
    assert models["models"] == ["gemma4:e2b"]
    with chat(http, portal_server, deployment, think=True) as response:
        events = read_events(response)
    assert sandbox.requests(path_regex="/api/chat$")[-1]["body"]["think"] is True
    assert text_of(events, "reasoning").startswith("The user wrote: Why is the sky blue?")
    assert text_of(events).startswith("Sandbox gemma4:e2b heard:")
    reply = eventually(lambda: Message.objects.filter(role="assistant").first())
    assert reply.reasoning == text_of(events, "reasoning")


def test_bad_requests_are_refused_with_reasons(portal_server, endpoint, deployer):
    http = sign_in(portal_server, deployer)
    url = portal_server.url + "/playground/api/chat"
    for body in (
        {"deployment": endpoint.pk, "messages": []},
        {"deployment": endpoint.pk, "messages": QUESTION, "temperature": 5},
        {"messages": QUESTION},
        {"deployment": True, "messages": QUESTION},
        {"deployment": endpoint.pk, "conversation": True, "messages": QUESTION},  # not id 1
    ):
        response = http.post(url, json=body, timeout=10)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_failed"
