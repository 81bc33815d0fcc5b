"""gke-inference-gateway as a team requests it: the spec's bounds and rules, the Standard
cluster the request is bound to (an Autopilot one refused on the field), the node pool's
GPUs held against quota, and the Cloud Run vLLM form's models unchanged by the catalog."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from deployments.models import Deployment, TeamGpuQuota
from deployments.targets import TARGETS
from deployments.targets.fields import declared
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from portal.models import TeamHfSecret

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
ESTIMATES = "/api/v1/estimates/"
TARGET = TARGETS["gke-inference-gateway"]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.fixture
def token(team):
    secret = f"projects/hangar-sandbox/secrets/hangar-{team.slug}-hf"
    return TeamHfSecret.objects.create(
        team=team, secret_name=secret, latest_version=f"{secret}/versions/1", set_at=timezone.now()
    )


def make_cluster(*teams: Any, name: str = "std", autopilot: bool = False, **kw: Any) -> Cluster:
    fields = {"project": "hangar-sandbox", "location": "us-central1", "name": name, **kw}
    cluster = Cluster.objects.create(status="ready", autopilot=autopilot, **fields)
    cluster.teams.set(teams)
    return cluster


def body(cluster: Any, **values: Any) -> dict[str, Any]:
    return {
        "team": "ml-research",
        "slug": "llama-lora",
        "target": "gke-inference-gateway",
        "model": "llama-3.1-8b-instruct",
        "cluster": cluster,
        **values,
    }


def test_the_seed_is_a_valid_request_holding_the_pools_gpus():
    spec = GkeInferenceGatewaySpec(cluster=1)
    assert spec.errors() == {}
    assert (spec.machine_type, spec.nodes, spec.provisioning) == ("a3-highgpu-2g", 1, "spot")
    assert (spec.max_loras, spec.max_cpu_loras, spec.max_lora_rank) == (2, 12, 16)
    assert spec.gpus_held == 2 and spec.replicas == 2
    assert spec.served_models == (LLAMA, "food-review", "cad-fabricator")
    assert GkeInferenceGatewaySpec(nodes=3, machine_type="a3-highgpu-8g").gpus_held == 24


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"max_lora_rank": 24}, "max_lora_rank", "vLLM takes one of 8, 16"),
        ({"max_loras": 4, "max_cpu_loras": 3}, "max_cpu_loras", "At least --max-loras"),
        ({"max_cpu_loras": 1, "max_loras": 1}, "max_cpu_loras", "starts with 2 adapters"),
        ({"nodes": 5}, "nodes", "Use at most 4"),
        ({"nodes": 0}, "nodes", "Use at least 1"),
        ({"max_lora_rank": 1024}, "max_lora_rank", "Use at most 512"),
        ({"base_priority": 10**6}, "base_priority", "Use at most 1000"),
        ({"provisioning": "reserved"}, "provisioning", "spot, flex-start or on-demand"),
        ({"model": "gemma-3-1b-it"}, "model", "seed 004 serves Llama"),
    ],
)
def test_what_vllm_or_google_would_refuse_is_refused_on_the_field(values, field, message):
    errors = GkeInferenceGatewaySpec(**{"cluster": 1, **values}).errors()
    assert message in " ".join(errors[field]), errors


def test_every_number_has_both_bounds():
    for name in (
        "cluster",
        "nodes",
        "max_loras",
        "max_cpu_loras",
        "max_lora_rank",
        "base_priority",
    ):
        declaration = declared(GkeInferenceGatewaySpec, name)
        assert declaration is not None
        assert declaration.minimum is not None and declaration.maximum is not None, name


def test_an_external_gateway_is_no_field_a_client_can_set(api, team, deployer, token):
    cluster = make_cluster(team)
    api.force_authenticate(deployer)
    response = api.post(URL, body(cluster.pk, external_gateway=True), "json")
    assert response.status_code == 400
    assert "external_gateway" in response.json()["error"]["fields"]
    assert not Deployment.objects.exists()
    assert api.post(URL, body(cluster.pk), "json").status_code == 201
    assert Deployment.objects.get().spec["external_gateway"] is False


def test_a_request_on_a_standard_cluster_is_bound_to_it(api, team, deployer, token):
    cluster = make_cluster(team)
    api.force_authenticate(deployer)
    response = api.post(URL, body(cluster.pk), "json")
    assert response.status_code == 201, response.json()
    deployment = Deployment.objects.get()
    assert deployment.region == "us-central1"
    assert deployment.spec["cluster_name"] == cluster.resource_name
    assert deployment.spec["team_gpus"] == 2
    # The pool's two GPUs, its default pool named unpriced or priced, the cluster fee.
    assert Decimal(deployment.estimate["hourly_max"]) >= Decimal("22.22")


def test_an_autopilot_cluster_is_refused_on_the_field(api, team, deployer, token):
    cluster = make_cluster(team, name="auto", autopilot=True)
    api.force_authenticate(deployer)
    response = api.post(URL, body(cluster.pk), "json")
    assert response.status_code == 400
    assert "needs a Standard cluster" in response.json()["error"]["fields"]["cluster"][0]
    assert not Deployment.objects.exists()


def test_another_teams_autopilot_cluster_says_nothing_about_it(api, team, other_team, deployer):
    theirs = make_cluster(other_team, name="theirs", autopilot=True)
    api.force_authenticate(deployer)
    response = api.post(URL, body(theirs.pk), "json")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["cluster"][0]
    assert "No cluster" in message and "Autopilot" not in message


def test_the_gated_model_needs_the_teams_token(api, team, deployer):
    cluster = make_cluster(team)
    api.force_authenticate(deployer)
    response = api.post(URL, body(cluster.pk), "json")
    assert response.status_code == 400
    assert "gated" in response.json()["error"]["fields"]["model"][0]


def test_quotas_count_the_pools_gpus(api, team, deployer):
    cluster = make_cluster(team)
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-h100-80gb", max_gpus=2)
    api.force_authenticate(deployer)
    seed = api.post(ESTIMATES, body(cluster.pk), "json").json()
    assert seed["quota"]["requested"] == 2
    bigger = api.post(ESTIMATES, body(cluster.pk, nodes=2), "json").json()
    assert bigger["quota"]["requested"] == 4
    assert bigger["decision"]["outcome"] == "needs_approval"


def test_the_cloud_run_vllm_form_does_not_offer_llama():
    values = [v for v, _ in declared(TARGETS["cloud-run-vllm"].spec_class, "model").choices()]  # type: ignore[union-attr,misc]
    assert "llama-3.1-8b-instruct" not in values
    assert "gemma-3-1b-it" in values


def test_the_request_page_lays_out_every_field(client, team, deployer):
    make_cluster(team)
    client.force_login(deployer)
    page = client.get(reverse("deployments:new") + "?target=gke-inference-gateway")
    assert page.status_code == 200
    html = page.content.decode()
    for name in (
        "cluster",
        "machine_type",
        "nodes",
        "provisioning",
        "starter_adapters",
        "max_loras",
        "max_cpu_loras",
        "max_lora_rank",
        "base_priority",
    ):
        assert f'name="{name}"' in html, name
