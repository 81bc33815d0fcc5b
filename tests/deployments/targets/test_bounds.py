"""Absurd values are refused on the field, with the limit named, before anything is stored
or priced: by the form, the API, the estimate endpoint and the live estimate alike, in
every region, whether or not the admins recorded the project's capacity there."""

import pytest

from deployments.models import Deployment, ProjectGpuCapacity
from deployments.targets import TARGETS
from deployments.targets.cloud_run.fields import cloud_run_regions
from deployments.targets.fields import declarations

pytestmark = pytest.mark.django_db

ABSURD = [
    ("max_instances", 10**9, "Use at most 100"),
    ("cpu", 1000, "Use at most 20"),
    ("memory_gib", 10**6, "Use at most 80"),
    ("min_instances", -1, "Use at least 0"),
    ("timeout_seconds", 10**12, "Use at most 3600"),
    ("concurrency", 10**6, "Use at most 1000"),
    ("gpu_count", 10**6, "Use at most"),
    ("max_model_len", 10**9, "Use at most"),
    ("max_model_len", 1, "Use at least 2048"),
]
REGIONS = [region for region, _ in cloud_run_regions()]
MODELS = {
    "cloud-run-ollama": "gemma3-1b",
    "cloud-run-vllm": "gemma-4-e2b-it",
    "gke-vllm": "gemma-4-26b-a4b-it",
}


def declared(target):
    return {name for name, _, _ in declarations(TARGETS[target].spec_class)}


# Each target with each absurd value of a field it declares.
CASES = [
    (target, field, value, limit)
    for target in sorted(TARGETS)
    for field, value, limit in ABSURD
    if field in declared(target)
]


def regions(target):
    """A GKE target's region is its cluster's: it asks for none."""
    return REGIONS if "region" in declared(target) else [None]


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.fixture(params=[False, True], ids=["no-capacity-row", "capacity-row"])
def capacity(request):
    if request.param:
        for region in REGIONS:
            ProjectGpuCapacity.objects.create(region=region, gpu_type="nvidia-l4", max_gpus=8)
    return request.param


def body(target, region, field, value):
    values = {"team": "ml-research", "slug": "absurd", "target": target, "model": MODELS[target]}
    if region is not None:
        values["region"] = region
    return {**values, field: value}


@pytest.mark.parametrize(("target", "field", "value", "limit"), CASES)
def test_the_api_refuses_it_on_the_field_in_every_region(
    api, deployer, capacity, target, field, value, limit
):
    api.force_authenticate(deployer)
    for region in regions(target):
        response = api.post("/api/v1/deployments/", body(target, region, field, value), "json")
        assert response.status_code == 400, (region, response.json())
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert any(limit in message for message in error["fields"][field]), error
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(("target", "field", "value", "limit"), CASES)
def test_the_estimate_endpoint_refuses_it_too(api, deployer, target, field, value, limit):
    api.force_authenticate(deployer)
    response = api.post(
        "/api/v1/estimates/", body(target, regions(target)[0], field, value), "json"
    )
    assert response.status_code == 400, response.json()
    assert any(limit in m for m in response.json()["error"]["fields"][field])


@pytest.mark.parametrize(("target", "field", "value", "limit"), CASES)
def test_the_form_refuses_it_next_to_the_field(
    client, deployer, team, capacity, target, field, value, limit
):
    client.force_login(deployer)
    form = {**body(target, regions(target)[0], field, value), "team": team.pk}
    page = client.get(f"/deployments/new/?target={target}")
    defaults = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    response = client.post("/deployments/new/", {**defaults, **form, field: value})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(limit in message for message in errors[field]), errors
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("target", "field", "value", "limit"), [c for c in CASES if c[0] == "cloud-run-ollama"]
)
def test_the_live_estimate_names_the_limit(client, deployer, team, target, field, value, limit):
    client.force_login(deployer)
    defaults = client.get(f"/deployments/new/?target={target}").context["form"].initial
    form = {**defaults, **body(target, "europe-west1", field, value), "team": team.pk}
    panel = client.post("/deployments/estimate/", form).content.decode()
    assert limit in panel
    assert "per month" not in panel  # nothing was priced


def test_a_spec_built_directly_is_held_to_the_same_bounds():
    """Services take values from elsewhere too (a management command, a test, a shell)."""
    spec_class = TARGETS["cloud-run-vllm"].spec_class
    errors = spec_class.from_values(
        {"model": "gemma-4-e2b-it", "max_instances": 10**9, "gpu_memory_utilization": "1e999"}
    ).errors()
    assert "Use at most 100" in errors["max_instances"][0]
    assert "Use at most 0.95" in errors["gpu_memory_utilization"][0]
    assert spec_class.from_values({"model": "gemma-4-e2b-it", "cpu": "eight"}).errors() == {
        "cpu": ["Give a whole number."]
    }


def test_the_schema_shows_each_targets_own_fields(client, deployer):
    client.force_login(deployer)
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    ollama = components["CloudRunOllamaNewDeploymentRequest"]["properties"]
    vllm = components["CloudRunVllmNewDeploymentRequest"]["properties"]
    assert "ollama_parallel" in ollama and "ollama_parallel" not in vllm
    assert "weights_source" in vllm and "weights_source" not in ollama
    assert ollama["max_instances"]["maximum"] == 100
    assert ollama["cpu"]["maximum"] == 20
    request = components["NewDeploymentRequest"]
    assert request["discriminator"]["propertyName"] == "target"
    assert set(request["discriminator"]["mapping"]) == set(TARGETS)


def test_an_expiry_past_the_calendar_is_refused_not_a_500(api, client, deployer, team):
    api.force_authenticate(deployer)
    response = api.post(
        "/api/v1/deployments/",
        {**body("cloud-run-ollama", "europe-west1", "expires_in_hours", 10**12)},
        "json",
    )
    assert response.status_code == 400
    assert "expires_in_hours" in response.json()["error"]["fields"]
    client.force_login(deployer)
    defaults = client.get("/deployments/new/").context["form"].initial
    form = {k: v for k, v in defaults.items() if v is not None}
    response = client.post(
        "/deployments/new/", {**form, "team": team.pk, "slug": "far", "expires_in_hours": 10**12}
    )
    assert response.status_code == 400
    assert "expires_in_hours" in response.context["form"].errors
    assert not Deployment.objects.exists()
