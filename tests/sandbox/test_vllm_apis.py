"""The sandbox's Secret Manager, IAM service accounts, builds with secrets and the vLLM
model server, through the official clients, as strict as Google."""

from __future__ import annotations

import json

import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import run_v2, secretmanager_v1
from google.cloud.devtools import cloudbuild_v1
from google.oauth2 import id_token

from tests.sandbox.conftest import PROJECT, SERVICE_ACCOUNT
from tests.sandbox.helpers import PARENT, gpu_service, wait

TOKEN = "hf_SandboxSecretValue0123456789abcd"
SECRET = f"projects/{PROJECT}/secrets/hf-test"
BUILD_SA = "123456789012-compute@developer.gserviceaccount.com"


@pytest.fixture
def secrets_client(sandbox_process, credentials):
    return secretmanager_v1.SecretManagerServiceClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials,
    )


def make_secret(client, readers=()):
    client.create_secret(
        parent=f"projects/{PROJECT}",
        secret_id="hf-test",
        secret=secretmanager_v1.Secret(
            replication=secretmanager_v1.Replication(
                automatic=secretmanager_v1.Replication.Automatic()
            )
        ),
    )
    client.add_secret_version(
        parent=SECRET, payload=secretmanager_v1.SecretPayload(data=TOKEN.encode())
    )
    if readers:
        policy = client.get_iam_policy(request={"resource": SECRET})
        policy.bindings.add(
            role="roles/secretmanager.secretAccessor",
            members=[f"serviceAccount:{r}" for r in readers],
        )
        client.set_iam_policy(request={"resource": SECRET, "policy": policy})


def test_secret_versions_are_read_back_but_never_logged(sandbox, secrets_client):
    make_secret(secrets_client)
    answer = secrets_client.access_secret_version(name=f"{SECRET}/versions/latest")
    assert answer.payload.data == TOKEN.encode()
    with pytest.raises(gexc.Conflict):  # ALREADY_EXISTS over REST
        make_secret(secrets_client)
    assert TOKEN not in json.dumps(sandbox.requests())
    assert TOKEN not in json.dumps(sandbox.state())


def test_a_secret_needs_replication(sandbox, secrets_client):
    with pytest.raises(gexc.BadRequest, match="replication"):
        secrets_client.create_secret(
            parent=f"projects/{PROJECT}", secret_id="bare", secret=secretmanager_v1.Secret()
        )


def secret_build(step_secret_env: list[str], declared: bool = True) -> cloudbuild_v1.Build:
    build = cloudbuild_v1.Build(
        steps=[
            cloudbuild_v1.BuildStep(
                name="vllm/vllm-openai:v0.21.0",
                entrypoint="hf",
                args=["download", "google/gemma-3-1b-it", "--local-dir", "/workspace/w"],
                secret_env=step_secret_env,
            )
        ]
    )
    if declared:
        build.available_secrets = cloudbuild_v1.Secrets(
            secret_manager=[
                cloudbuild_v1.SecretManagerSecret(
                    version_name=f"{SECRET}/versions/latest", env="HF_TOKEN"
                )
            ]
        )
    return build


def test_a_step_using_an_undeclared_secret_is_refused(sandbox, build_client):
    with pytest.raises(gexc.BadRequest, match="not defined in availableSecrets"):
        build_client.create_build(parent=PARENT, build=secret_build(["HF_TOKEN"], declared=False))


def test_a_gated_download_without_the_token_fails(sandbox, build_client, secrets_client):
    make_secret(secrets_client, readers=[BUILD_SA])
    build = secret_build([])
    build.available_secrets = cloudbuild_v1.Secrets()  # nothing declared, nothing passed
    with pytest.raises(gexc.GoogleAPICallError):
        wait(build_client.create_build(parent=PARENT, build=build))
    [stored] = sandbox.state()["builds"]
    assert "401 Client Error" in stored["statusDetail"]


def test_the_build_account_must_be_allowed_to_read_the_secret(
    sandbox, build_client, secrets_client
):
    make_secret(secrets_client)  # nobody may read it
    with pytest.raises(gexc.GoogleAPICallError):
        wait(build_client.create_build(parent=PARENT, build=secret_build(["HF_TOKEN"])))
    [stored] = sandbox.state()["builds"]
    assert "secretmanager.versions.access" in stored["statusDetail"]


def test_a_build_with_the_secret_downloads(sandbox, build_client, secrets_client):
    make_secret(secrets_client, readers=[BUILD_SA])
    done = wait(build_client.create_build(parent=PARENT, build=secret_build(["HF_TOKEN"])))
    assert done.status == cloudbuild_v1.Build.Status.SUCCESS


def vllm_service(**container: object) -> run_v2.Service:
    service = gpu_service("vllm/vllm-openai:v0.21.0")
    c = service.template.containers[0]
    del c.env[:]
    c.args.extend(
        [
            "--model=google/gemma-4-E2B-it",
            "--served-model-name=google/gemma-4-E2B-it",
            "--max-model-len=4096",
        ]
    )
    for key, value in container.items():
        setattr(c, key, value)
    return service


def test_a_runtime_account_that_cannot_read_its_secret_fails_the_revision(
    sandbox, run_client, secrets_client
):
    make_secret(secrets_client)
    ref = run_v2.EnvVarSource(secret_key_ref=run_v2.SecretKeySelector(secret="hf-test"))
    service = vllm_service(env=[run_v2.EnvVar(name="HF_TOKEN", value_source=ref)])
    op = run_client.create_service(parent=PARENT, service=service, service_id="no-secret")
    with pytest.raises(gexc.GoogleAPICallError, match="Permission denied on secret"):
        wait(op)


def test_an_unknown_runtime_account_is_refused(sandbox, run_client):
    service = vllm_service()
    service.template.service_account = f"ghost@{PROJECT}.iam.gserviceaccount.com"
    with pytest.raises(gexc.Forbidden, match="actAs"):
        run_client.create_service(parent=PARENT, service=service, service_id="ghost")


def test_the_vllm_server_speaks_openai_sse_health_and_metrics(sandbox, run_client, auth_request):
    service = wait(
        run_client.create_service(parent=PARENT, service=vllm_service(), service_id="vllm-api")
    )
    policy = run_client.get_iam_policy(request={"resource": service.name})
    policy.bindings.add(role="roles/run.invoker", members=[f"serviceAccount:{SERVICE_ACCOUNT}"])
    run_client.set_iam_policy(request={"resource": service.name, "policy": policy})
    token = id_token.fetch_id_token(auth_request, service.uri)
    headers = {"Authorization": f"Bearer {token}"}

    assert requests.get(service.uri + "/health", headers=headers, timeout=10).status_code == 200
    models = requests.get(service.uri + "/v1/models", headers=headers, timeout=10).json()
    assert models["data"][0]["id"] == "google/gemma-4-E2B-it"
    assert models["data"][0]["max_model_len"] == 4096
    body = {
        "model": "google/gemma-4-E2B-it",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stream = requests.post(
        service.uri + "/v1/chat/completions", json=body, headers=headers, timeout=10
    )
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    events = [line[len("data: ") :] for line in stream.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    completion = requests.post(
        service.uri + "/v1/completions",
        json={"model": "google/gemma-4-E2B-it", "prompt": "Cloud Run is", "max_tokens": 3},
        headers=headers,
        timeout=10,
    ).json()
    assert completion["choices"][0]["finish_reason"] == "length"
    wrong = requests.post(
        service.uri + "/v1/completions",
        json={"model": "gemma", "prompt": "x"},
        headers=headers,
        timeout=10,
    )
    assert wrong.status_code == 404
    metrics = requests.get(service.uri + "/metrics", headers=headers, timeout=10).text
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:e2e_request_latency_seconds_count",
    ):
        assert f"{name}{{" in metrics
    assert (
        'vllm:request_success_total{engine="0",model_name="google/gemma-4-E2B-it",finished_reason="length"} 1.0'
        in metrics
    )
