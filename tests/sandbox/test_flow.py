"""The seed guide end to end: repository, build, image, GPU service, IAM, chat."""

import json
import time

import pytest
import requests
from google.cloud import run_v2
from google.cloud.devtools import cloudbuild_v1
from google.oauth2 import id_token

from tests.sandbox import helpers
from tests.sandbox.conftest import SERVICE_ACCOUNT
from tests.sandbox.helpers import PARENT


@pytest.fixture
def deployed(sandbox, registry_client, build_client, run_client):
    """A ready service running the guide's image, before any IAM grant."""
    helpers.create_repository(registry_client)
    image = helpers.image_uri()
    op = build_client.create_build(parent=PARENT, build=helpers.image_build(image))
    assert op.metadata.build.status == cloudbuild_v1.Build.Status.QUEUED
    assert op.metadata.build.log_url
    build = helpers.wait(op)
    assert build.status == cloudbuild_v1.Build.Status.SUCCESS
    op = run_client.create_service(
        parent=PARENT, service_id="ollama-gemma", service=helpers.gpu_service(image)
    )
    during = run_client.get_service(name=f"{PARENT}/services/ollama-gemma")
    assert during.reconciling
    assert during.terminal_condition.state == run_v2.Condition.State.CONDITION_RECONCILING
    service = helpers.wait(op)
    return service


def grant_invoker(run_client, service):
    policy = run_client.get_iam_policy(request={"resource": service.name})
    assert list(policy.bindings) == []
    policy.bindings.add(role="roles/run.invoker", members=[f"serviceAccount:{SERVICE_ACCOUNT}"])
    return run_client.set_iam_policy(request={"resource": service.name, "policy": policy})


def test_build_pushes_image_that_carries_the_model(deployed, registry_client, build_client):
    repo = f"{PARENT}/repositories/llm"
    packages = list(registry_client.list_packages(parent=repo))
    assert [p.name for p in packages] == [f"{repo}/packages/ollama-gemma"]
    images = list(registry_client.list_docker_images(parent=repo))
    assert len(images) == 1
    assert images[0].tags == ["v1"]
    assert images[0].uri.startswith(
        "europe-west1-docker.pkg.dev/hangar-sandbox/llm/ollama-gemma@sha256:"
    )
    by_tag = {"parent": PARENT, "filter": 'tags="hangar-test"'}
    builds = list(build_client.list_builds(request=by_tag))
    assert len(builds) == 1
    assert builds[0].results.images[0].digest == images[0].uri.split("@")[1]
    # With project_id too, the client takes the global URL and passes parent as a query.
    both = list(build_client.list_builds(request={**by_tag, "project_id": "hangar-sandbox"}))
    assert [b.id for b in both] == [builds[0].id]
    none = build_client.list_builds(request={"parent": PARENT, "filter": 'tags="other"'})
    assert list(none) == []


def test_ready_service_shape(deployed):
    assert not deployed.reconciling
    assert deployed.terminal_condition.type_ == "Ready"
    assert deployed.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert deployed.uri.endswith("/_run/hangar-sandbox/europe-west1/ollama-gemma")
    assert list(deployed.urls) == [deployed.uri]
    assert deployed.latest_ready_revision.startswith(f"{PARENT}/services/ollama-gemma/revisions/")
    assert deployed.generation == deployed.observed_generation == 1
    assert deployed.labels["managed-by"] == "hangar"
    assert deployed.etag


def test_model_server_auth(deployed, run_client, auth_request, sandbox):
    url = deployed.uri + "/api/tags"
    assert requests.get(url, timeout=10).status_code == 401
    wrong = id_token.fetch_id_token(auth_request, deployed.uri + "/other")
    assert requests.get(url, headers=bearer(wrong), timeout=10).status_code == 401
    access = run_client._transport._credentials.token
    assert requests.get(url, headers=bearer(access), timeout=10).status_code == 401
    token = id_token.fetch_id_token(auth_request, deployed.uri)
    assert requests.get(url, headers=bearer(token), timeout=10).status_code == 403
    grant_invoker(run_client, deployed)
    tags = requests.get(url, headers=bearer(token), timeout=10)
    assert tags.status_code == 200
    assert [m["name"] for m in tags.json()["models"]] == ["gemma3:4b"]
    logged = sandbox.requests(path_regex="/_run/")
    assert [e["status"] for e in logged] == [401, 401, 401, 403, 200]
    assert logged[0]["authorization"] is False and logged[1]["authorization"] is True


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_ollama_chat_streams_ndjson(deployed, run_client, auth_request, sandbox):
    grant_invoker(run_client, deployed)
    sandbox.config(model_load_delay=0.5)
    headers = bearer(id_token.fetch_id_token(auth_request, deployed.uri))
    body = {"model": "gemma3:4b", "messages": [{"role": "user", "content": "Why is the sky blue?"}]}
    started = time.monotonic()
    with requests.post(
        deployed.uri + "/api/chat", json=body, headers=headers, stream=True, timeout=10
    ) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        chunks = [json.loads(line) for line in response.iter_lines() if line]
    assert time.monotonic() - started >= 0.5  # cold start before the first byte
    *parts, final = chunks
    text = "".join(c["message"]["content"] for c in parts)
    assert text.startswith("Sandbox gemma3:4b heard: Why is the sky blue?")
    assert all(c["done"] is False for c in parts)
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["eval_count"] == len(parts)
    assert final["prompt_eval_count"] == 5
    for key in ("total_duration", "load_duration", "eval_duration"):
        assert final[key] > 0
    # Warm now: no load delay, and the same prompt gives the same answer.
    started = time.monotonic()
    again = requests.post(
        deployed.uri + "/api/chat", json={**body, "stream": False}, headers=headers, timeout=10
    ).json()
    assert time.monotonic() - started < 0.5
    assert again["message"]["content"] == text
    missing = requests.post(
        deployed.uri + "/api/chat", json={**body, "model": "llama3"}, headers=headers, timeout=10
    )
    assert missing.status_code == 404
    assert missing.json() == {"error": 'model "llama3" not found, try pulling it first'}
    bad = requests.post(
        deployed.uri + "/api/generate", data="{not json", headers=headers, timeout=10
    )
    assert bad.status_code == 400


def test_openai_chat_streams_sse(deployed, run_client, auth_request):
    grant_invoker(run_client, deployed)
    headers = bearer(id_token.fetch_id_token(auth_request, deployed.uri))
    body = {
        "model": "gemma3:4b",
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with requests.post(
        deployed.uri + "/v1/chat/completions", json=body, headers=headers, stream=True, timeout=10
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = [
            line[len("data: ") :] for line in response.iter_lines(decode_unicode=True) if line
        ]
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    usage = payloads[-1]["usage"]
    deltas = [p["choices"][0]["delta"].get("content", "") for p in payloads if p["choices"]]
    assert "".join(deltas).startswith("Sandbox gemma3:4b heard: hello there.")
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"
    assert usage["completion_tokens"] == len([d for d in deltas if d])
    assert usage["prompt_tokens"] == 2
    whole = requests.post(
        deployed.uri + "/v1/chat/completions",
        json={**body, "stream": False},
        headers=headers,
        timeout=10,
    ).json()
    assert whole["object"] == "chat.completion"
    assert whole["choices"][0]["message"]["content"] == "".join(deltas)
    models = requests.get(deployed.uri + "/v1/models", headers=headers, timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["gemma3:4b"]


def test_stale_iam_etag_is_aborted(deployed, run_client):
    from google.api_core import exceptions

    stale = run_client.get_iam_policy(request={"resource": deployed.name})
    grant_invoker(run_client, deployed)
    stale.bindings.add(role="roles/run.invoker", members=["allUsers"])
    with pytest.raises(exceptions.Conflict) as info:
        run_client.set_iam_policy(request={"resource": deployed.name, "policy": stale})
    assert info.value.response.json()["error"]["status"] == "ABORTED"


def test_update_redeploys_and_delete_leaves_nothing(deployed, run_client, registry_client, sandbox):
    service = run_client.get_service(name=deployed.name)
    service.template.max_instance_request_concurrency = 8
    op = run_client.update_service(service=service)
    updated = helpers.wait(op)
    assert updated.generation == 2
    assert updated.latest_ready_revision != deployed.latest_ready_revision
    helpers.wait(run_client.delete_service(name=deployed.name))
    package = f"{PARENT}/repositories/llm/packages/ollama-gemma"
    helpers.wait(registry_client.delete_package(name=package))
    state = sandbox.state()
    assert state["services"] == []
    assert state["repositories"][0]["packages"] == []
    helpers.wait(registry_client.delete_repository(name=f"{PARENT}/repositories/llm"))
    assert sandbox.state()["repositories"] == []


def test_update_allow_missing_creates(sandbox, registry_client, build_client, run_client):
    helpers.create_repository(registry_client)
    image = helpers.image_uri()
    helpers.wait(build_client.create_build(parent=PARENT, build=helpers.image_build(image)))
    service = helpers.gpu_service(image)
    service.name = f"{PARENT}/services/upserted"
    from google.api_core import exceptions

    with pytest.raises(exceptions.NotFound):
        run_client.update_service(service=service)
    created = helpers.wait(
        run_client.update_service(request={"service": service, "allow_missing": True})
    )
    assert created.generation == 1


def test_generate_and_public_service(sandbox, registry_client, build_client, run_client):
    """invokerIamDisabled skips auth; /api/generate honours stream:false and num_predict."""
    helpers.create_repository(registry_client)
    image = helpers.image_uri()
    helpers.wait(build_client.create_build(parent=PARENT, build=helpers.image_build(image)))
    service = helpers.gpu_service(image)
    service.invoker_iam_disabled = True
    public = helpers.wait(
        run_client.create_service(parent=PARENT, service_id="public", service=service)
    )
    assert public.invoker_iam_disabled
    body = {"model": "gemma3:4b", "prompt": "Hi", "stream": False, "options": {"num_predict": 3}}
    reply = requests.post(public.uri + "/api/generate", json=body, timeout=10).json()
    assert reply["response"] == "Sandbox gemma3:4b heard: "
    assert reply["done_reason"] == "length"
    assert reply["eval_count"] == 3
    stream = requests.post(public.uri + "/api/generate", json={**body, "stream": True}, timeout=10)
    lines = [json.loads(line) for line in stream.text.splitlines()]
    assert "".join(c["response"] for c in lines) == reply["response"]
