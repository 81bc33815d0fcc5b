"""A LoRA adapter as a team requests it (issue 14, item 6): a deployment row of its own,
bound to a ready gke-inference-gateway deployment of the team; what does not fit the
server is refused on the field, with nothing stored."""

from typing import Any

import pytest
import yaml
from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.targets import TARGETS
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
ADAPTER = TARGETS["gke-inference-gateway-adapter"]


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def base_deployment(team: Any, status: str = Status.READY, **spec: Any) -> Any:
    bound = GkeInferenceGatewaySpec(
        cluster=3,
        region="us-central1",
        team_gpus=2,
        cluster_name="projects/hangar-sandbox/locations/us-central1/clusters/std",
        **spec,
    )
    return DeploymentFactory(
        team=team,
        slug="llama-lora",
        target="gke-inference-gateway",
        model=bound.model,
        region=bound.region,
        gpu_type=bound.gpu_type,
        gpu_count=1,
        spec=bound.spec_json(),
        status=status,
    )


def body(base: Any, **values: Any) -> dict[str, Any]:
    return {
        "team": "ml-research",
        "slug": "sql-lora",
        "target": "gke-inference-gateway-adapter",
        "model": "llama-3.1-8b-instruct",
        "base": base,
        "name": "sql-expert",
        "source": "someone/llama3.1-sql-lora-r8",
        "rank": 8,
        "priority": 5,
        **values,
    }


def test_an_adapter_on_a_ready_base_is_bound_to_it_and_holds_no_gpus(api, team, deployer):
    base = base_deployment(team)
    api.force_authenticate(deployer)
    response = api.post(URL, body(base.pk), "json")
    assert response.status_code == 201, response.json()
    adapter = Deployment.objects.get(target="gke-inference-gateway-adapter")
    assert (adapter.spec["base_slug"], adapter.region) == ("llama-lora", "us-central1")
    spec = GatewayAdapterSpec.from_deployment(adapter)
    assert spec.gpus_held == 0
    assert [a.name for a in spec.base_spec().adapters] == ["food-review", "cad-fabricator"]
    # A second adapter keeps nothing of the first: its plan reads the live rows, the
    # first (approved) loaded beside it.
    second = api.post(URL, body(base.pk, slug="chat-lora", name="chat-style"), "json")
    assert second.status_code == 201, second.json()
    row = Deployment.objects.get(slug="chat-lora")
    assert not {"loaded", "live_loaded", "live_removed"} & set(row.spec)
    adapter.status = Status.APPROVED
    adapter.save(update_fields=["status"])
    config = plan_for(row).step("apply_adapters").request.body["data"]["configmap.yaml"]
    wanted = yaml.safe_load(config)["vLLMLoRAConfig"]["ensureExist"]["models"]
    assert [m["id"] for m in wanted] == [
        "food-review",
        "cad-fabricator",
        "sql-expert",
        "chat-style",
    ]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"rank": 32}, "rank", "rank up to 16"),
        ({"name": "food-review"}, "name", "already answers to food-review"),
        # The base model's InferenceObjective name (meta-llama/Llama-3.1-8B-Instruct made
        # safe): the same objective, so refused.
        ({"name": "meta-llama-llama-3-1-8b-instruct"}, "name", "same model name"),
        ({"name": "Not A Name"}, "name", "Kubernetes name"),
        ({"source": "no-slash"}, "source", "owner/name"),
        ({"source": "a/" + "b" * 200}, "source", "characters"),
        ({"rank": 10**6}, "rank", "at most 512"),
        ({"priority": -(10**6)}, "priority", "at least -1000"),
    ],
)
def test_what_does_not_fit_the_server_is_refused_on_the_field(
    api, team, deployer, values, field, message
):
    base = base_deployment(team)
    api.force_authenticate(deployer)
    response = api.post(URL, body(base.pk, **values), "json")
    assert response.status_code == 400, response.json()
    assert message in " ".join(response.json()["error"]["fields"][field])
    assert not Deployment.objects.filter(target="gke-inference-gateway-adapter").exists()


def test_a_full_server_is_refused(api, team, deployer):
    base = base_deployment(team, max_loras=1, max_cpu_loras=2)  # the seed's two fill it
    api.force_authenticate(deployer)
    response = api.post(URL, body(base.pk), "json")
    assert response.status_code == 400
    assert "--max-cpu-loras" in response.json()["error"]["fields"]["name"][0]


@pytest.mark.parametrize("which", ["not-ready", "other-team", "unknown", None])
def test_a_base_the_team_may_not_use_is_refused(api, team, other_team, deployer, which):
    bases = {
        "not-ready": lambda: base_deployment(team, status=Status.DEPLOYING).pk,
        "other-team": lambda: base_deployment(other_team).pk,
        "unknown": lambda: 987654,
        None: lambda: None,
    }
    api.force_authenticate(deployer)
    response = api.post(URL, body(bases[which]()), "json")
    assert response.status_code == 400, response.json()
    assert "base" in response.json()["error"]["fields"]


def test_its_estimate_is_none_of_its_own():
    from deployments.services.prices import price_file_data

    priced = ADAPTER.estimate(GatewayAdapterSpec(), price_file_data(), 8)
    assert priced.monthly == 0 and "base deployment" in priced.lines[0][0]


def test_a_name_another_request_awaits_approval_under_is_taken(api, team, deployer):
    base = base_deployment(team)
    api.force_authenticate(deployer)
    first = api.post(URL, body(base.pk), "json")
    assert first.status_code == 201, first.json()
    # An adapter holds no GPU and may be approved at once; this one still awaits a decision.
    Deployment.objects.filter(slug="sql-lora").update(status=Status.PENDING_APPROVAL)
    again = api.post(URL, body(base.pk, slug="sql-lora-2"), "json")
    assert again.status_code == 400, again.json()
    assert "already answers to sql-expert" in " ".join(again.json()["error"]["fields"]["name"])


def test_a_base_names_what_runs_on_it_on_its_page_and_in_the_api(api, client, team, deployer):
    base = base_deployment(team)
    api.force_authenticate(deployer)
    assert api.post(URL, body(base.pk), "json").status_code == 201
    adapter = Deployment.objects.get(slug="sql-lora")
    shown = api.get(f"{URL}{base.pk}/").json()
    assert shown["depends_on"] is None
    assert shown["dependents"] == [
        {"id": adapter.pk, "slug": "sql-lora", "target": ADAPTER.name, "status": adapter.status}
    ]
    assert api.get(f"{URL}{adapter.pk}/").json()["depends_on"] == base.pk

    client.force_login(deployer)
    page = client.get(reverse("deployments:detail", args=[base.pk])).content.decode()
    assert "Runs on this deployment" in page and "sql-lora" in page
    page = client.get(reverse("deployments:detail", args=[adapter.pk])).content.decode()
    assert "Runs on" in page and "llama-lora" in page
