"""The model server's own metrics: the sandbox's vLLM /metrics moves with the requests it
served; the beat task's service samples it (and Ollama's /api/ps) with the endpoint's
credential into Postgres, never wakes a scaled-to-zero deployment, keeps a bounded history,
and the deployment page charts the last hour."""

from datetime import timedelta
from html import unescape
from typing import Any

import google.auth.transport.requests
import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from google.oauth2 import id_token

from deployments.choices import Status
from metering.model_servers import parse_vllm_metrics, servers_sample
from metering.models import ServerSample
from metering.server_charts import server_charts
from playground.models import UsageRecord
from tests.factories import DeploymentFactory
from tests.sandbox.conftest import SERVICE_ACCOUNT, credentials, run_client  # noqa: F401
from tests.sandbox.helpers import PARENT, gpu_service, wait
from tests.sandbox.test_vllm_apis import vllm_service

pytestmark = pytest.mark.django_db
MODEL = "google/gemma-4-E2B-it"


def serve(run_client, service: Any, service_id: str) -> Any:  # noqa: F811
    service = wait(run_client.create_service(parent=PARENT, service=service, service_id=service_id))
    policy = run_client.get_iam_policy(request={"resource": service.name})
    policy.bindings.add(role="roles/run.invoker", members=[f"serviceAccount:{SERVICE_ACCOUNT}"])
    run_client.set_iam_policy(request={"resource": service.name, "policy": policy})
    return service


def chat(service: Any, words: int) -> None:
    token = id_token.fetch_id_token(google.auth.transport.requests.Request(), service.uri)
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "max_tokens": words,
    }
    reply = requests.post(
        service.uri + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert reply.status_code == 200 and reply.text.endswith("data: [DONE]\n\n")


def used_now(deployment: Any) -> None:
    UsageRecord.objects.create(
        deployment=deployment,
        user=deployment.requested_by,
        source=UsageRecord.Source.PLAYGROUND,
        prompt_tokens=1,
        completion_tokens=1,
    )


@pytest.fixture
def vllm(sandbox, run_client, team):  # noqa: F811
    service = serve(run_client, vllm_service(), "vllm-sampled")
    deployment: Any = DeploymentFactory(
        team=team,
        status=Status.READY,
        endpoint_url=service.uri,
        target="cloud-run-vllm",
        model="gemma-4-e2b-it",
    )
    return service, deployment


def test_samples_follow_the_requests_the_server_served(client, sandbox, vllm, deployer):
    service, deployment = vllm
    used_now(deployment)
    now = timezone.now()
    assert servers_sample(now=now).sampled == 1
    chat(service, words=10)
    chat(service, words=5)
    assert servers_sample(now=now + timedelta(seconds=60)).sampled == 1

    first, second = ServerSample.objects.filter(deployment=deployment)
    assert second.values["generation_tokens"] - first.values["generation_tokens"] == 15
    assert second.values["ttft_count"] - first.values["ttft_count"] == 2
    assert second.values["itl_count"] - first.values["itl_count"] == 13  # tokens after the first
    assert second.values["running"] == 0 and second.values["kv_cache"] == 0
    assert sandbox.requests(path_regex="/metrics$")[-1]["authorization"] is True

    charts = {
        c["key"]: c
        for c in server_charts(
            deployment=deployment, window=timedelta(hours=1), now=now + timedelta(seconds=61)
        )
    }
    assert charts["tokens_per_second"]["values"] == [None, 0.25]  # 15 tokens over 60 s
    assert charts["ttft"]["values"][1] is not None and charts["ttft"]["values"][1] >= 0

    client.force_login(deployer)
    page = unescape(
        client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    )
    assert 'data-server-chart="tokens_per_second"' in page
    assert "vendor/chart.js/dist/chart.umd.min.js" in page  # served by Hangar, no CDN


def test_a_scaled_to_zero_deployment_is_not_woken_and_old_samples_go(sandbox, vllm):
    _, deployment = vllm
    ServerSample.objects.create(
        deployment=deployment, at=timezone.now() - timedelta(days=3), server="vllm", values={}
    )
    result = servers_sample()
    assert (result.sampled, result.skipped, result.deleted) == (0, 1, 1)
    assert sandbox.requests(path_regex="/metrics$") == []


def test_ollama_tells_what_it_has_loaded(sandbox, run_client, team):  # noqa: F811
    service = serve(run_client, gpu_service("ollama/ollama:0.12.6"), "ollama-sampled")
    deployment: Any = DeploymentFactory(
        team=team, status=Status.READY, endpoint_url=service.uri, target="cloud-run-ollama"
    )
    deployment.spec = {**deployment.spec, "min_instances": 1}  # always warm: sampled unused
    deployment.save()
    assert servers_sample().sampled == 1
    sample = ServerSample.objects.get(deployment=deployment)
    assert sample.server == "ollama" and sample.values["models_loaded"] >= 0


def test_hostile_metrics_text_gives_no_reading():
    assert parse_vllm_metrics("not { prometheus") == {}
    assert parse_vllm_metrics("vllm:num_requests_running NaN\n") == {}
    assert parse_vllm_metrics(
        'vllm:num_requests_running{a="1"} 2\nvllm:num_requests_running{a="2"} 3\n'
    ) == {"running": 5.0}
