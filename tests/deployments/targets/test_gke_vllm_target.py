"""gke-vllm as a team requests it: the spec's rules, the price of the whole node (by hand),
the cluster bound to the team at request time, and the form's warning about idle GPUs."""

import copy
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from clusters.models import Cluster
from deployments.models import Deployment, ProjectGpuCapacity, TeamGpuQuota
from deployments.pricing.estimator import cents
from deployments.services.prices import price_file_data
from deployments.services.requests import deployment_request
from deployments.targets import TARGETS
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from portal.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
ESTIMATES = "/api/v1/estimates/"
TARGET = TARGETS["gke-vllm"]
PRICES = price_file_data()


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def make_cluster(*teams: Any, name: str = "gpu", status: str = "ready", **kw: Any) -> Cluster:
    fields = {"project": "hangar-sandbox", "location": "us-central1", "name": name, **kw}
    cluster = Cluster.objects.create(status=status, **fields)
    cluster.teams.set(teams)
    return cluster


def body(cluster: Any, **values: Any) -> dict[str, Any]:
    return {
        "team": "ml-research",
        "slug": "gemma-gke",
        "target": "gke-vllm",
        "model": "gemma-4-26b-a4b-it",
        "cluster": cluster,
        **values,
    }


# -- the spec's rules ------------------------------------------------------------------


def test_the_seed_is_a_valid_request_holding_the_nodes_eight_gpus():
    spec = GkeVllmSpec(cluster=1, model="gemma-4-26b-a4b-it")
    assert spec.errors() == {}
    assert (spec.machine_type, spec.gpu_count, spec.max_model_len) == (
        "a3-edgegpu-8g-nolssd",
        1,
        16384,
    )
    assert spec.gpus_held == 8  # the node's GPUs, not the pod's one
    assert GkeVllmSpec(model="gemma-4-26b-a4b-it", machine_type="a3-highgpu-1g").gpus_held == 1


def test_a_pod_cannot_ask_for_more_gpus_than_its_node_holds():
    spec = GkeVllmSpec(model="gemma-4-26b-a4b-it", machine_type="a3-highgpu-2g", gpu_count=4)
    assert "a3-highgpu-2g holds 2 H100s" in spec.errors()["gpu_count"][0]


def test_the_model_and_its_context_must_fit_the_pods_gpus():
    # 31B: 62 GiB of weights; 0.9 × 80 - 62 - 1.5 = 8.5 GiB of KV cache at 960 KiB a token
    # (60 layers × 16 heads × 256 × 2 × 2 bytes): 9284 tokens, 9216 in steps of 1024.
    one = GkeVllmSpec(model="gemma-4-31b-it", machine_type="a3-highgpu-1g")
    assert "Set max model length to 9216 or less" in one.errors()["max_model_len"][0]
    assert (
        GkeVllmSpec(
            model="gemma-4-31b-it", machine_type="a3-highgpu-1g", max_model_len=9216
        ).errors()
        == {}
    )
    assert (
        GkeVllmSpec(model="gemma-4-31b-it", machine_type="a3-highgpu-2g", gpu_count=2).errors()
        == {}
    )
    # The model's own 256K context does not fit beside the 26B's weights on one H100.
    full = GkeVllmSpec(model="gemma-4-26b-a4b-it", max_model_len=262144)
    assert "Set max model length to 79872 or less" in full.errors()["max_model_len"][0]


def test_the_length_that_fits_is_offered_to_fill_in():
    one = GkeVllmSpec(model="gemma-4-31b-it", machine_type="a3-highgpu-1g")
    assert one.fixes() == {"max_model_len": 9216}  # the figure the refusal names
    assert replace(one, **one.fixes()).errors() == {}
    assert (
        GkeVllmSpec(model="gemma-4-31b-it", machine_type="a3-highgpu-2g", gpu_count=2).fixes() == {}
    )


def test_a_model_of_another_target_is_a_field_error_not_a_crash(team, deployer):
    cluster = make_cluster(team)
    with pytest.raises(ValidationFailed) as refused:
        deployment_request(
            team=team,
            requested_by=deployer,
            target="gke-vllm",
            slug="wrong-model",
            values={"model": "gemma3-4b", "cluster": cluster.pk},
        )
    assert "seed 003 serves" in refused.value.fields["model"][0]


# -- the price of the whole node --------------------------------------------------------


def test_the_seeds_one_gpu_pod_is_billed_eight_h100s_and_the_waste_is_named():
    estimate = TARGET.estimate(GkeVllmSpec(model="gemma-4-26b-a4b-it"), PRICES, Decimal(8))
    # By hand: a3-edgegpu-8g-nolssd 88.49 $/h + Autopilot GPU premium 0 % + cluster fee 0.10
    assert estimate.hourly_max == estimate.hourly_min == Decimal("88.59")
    assert cents(estimate.monthly) == Decimal("64670.70")  # 88.59 × 730, around the clock
    assert [cost for _, cost in estimate.lines] == [Decimal("88.49"), 0, Decimal("0.10")]
    # 7 of 8 GPUs idle: 88.49 × 7 / 8 = 77.42875; a3-highgpu-1g holds the pod at 11.0612.
    (warning,) = estimate.warnings
    assert estimate.suggested == {"machine_type": "a3-highgpu-1g"}
    assert "only as Spot, Flex-start or a reservation" in warning
    assert "7 idle GPUs cost about $77.43/h" in warning
    assert "a3-highgpu-1g (1 × H100) holds this pod for $11.06/h" in warning


def test_a_right_sized_machine_has_no_warning():
    spec = GkeVllmSpec(model="gemma-4-31b-it", machine_type="a3-highgpu-2g", gpu_count=2)
    estimate = TARGET.estimate(spec, PRICES, Decimal(8))
    assert estimate.hourly_max == Decimal("22.2225")  # 22.1225 + 0.10
    assert estimate.warnings == []


# -- requests through the API: the cluster bound to the team ----------------------------


def test_a_request_on_a_cluster_open_to_the_team(api, team, deployer):
    cluster = make_cluster(team, location="europe-west4")
    api.force_authenticate(deployer)
    response = api.post(URL, body(cluster.pk), "json")
    assert response.status_code == 201, response.json()
    deployment = Deployment.objects.get()
    assert (deployment.region, deployment.gpu_type, deployment.gpu_count) == (
        "europe-west4",
        "nvidia-h100-80gb",
        1,
    )
    assert deployment.spec["cluster"] == cluster.pk
    assert deployment.spec["team_gpus"] == 8  # no quota set: what the team then holds
    assert deployment.estimate["hourly_max"] == "88.59"
    assert "idle GPUs" in deployment.estimate["warnings"][0]


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        ("another-team", "is open to ml-research"),
        (987654, "No cluster 987654 is open to ml-research"),
        ("not-ready", "not ready"),
        ("other-project", "Hangar deploys into hangar-sandbox"),
        (None, "A request needs a cluster"),
    ],
)
def test_a_cluster_the_team_may_not_use_is_refused_on_the_field(
    api, team, other_team, deployer, cluster, message
):
    clusters = {
        "another-team": make_cluster(other_team, name="theirs").pk,
        "not-ready": make_cluster(team, name="busy", status="creating").pk,
        "other-project": make_cluster(team, name="far", project="someone-else").pk,
    }
    api.force_authenticate(deployer)
    response = api.post(URL, body(clusters.get(cluster, cluster)), "json")
    assert response.status_code == 400, response.json()
    assert message in response.json()["error"]["fields"]["cluster"][0]
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("value", ["abc", 1.5, True, 2**40, 0, [1], {"id": 1}])
def test_a_cluster_that_is_no_id_is_refused_by_the_api(api, team, deployer, value):
    api.force_authenticate(deployer)
    response = api.post(URL, body(value), "json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert "cluster" in response.json()["error"]["fields"]


def test_quotas_count_the_nodes_gpus(api, team, deployer):
    make_cluster(team)
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-h100-80gb", max_gpus=2)
    api.force_authenticate(deployer)
    cluster = Cluster.objects.get().pk
    # One GPU in the pod, eight on the node: over a 2-GPU team quota, so an admin decides.
    seed = api.post(ESTIMATES, body(cluster), "json").json()
    assert seed["quota"]["requested"] == 8
    assert seed["decision"]["outcome"] == "needs_approval"
    small = api.post(ESTIMATES, body(cluster, machine_type="a3-highgpu-1g"), "json").json()
    assert small["quota"]["requested"] == 1
    # The project's recorded H100s in the cluster's region cannot hold the 8-GPU node.
    ProjectGpuCapacity.objects.create(region="us-central1", gpu_type="nvidia-h100-80gb", max_gpus=4)
    response = api.post(URL, body(cluster), "json")
    assert response.status_code == 400
    assert "machine_type" in response.json()["error"]["fields"]


def test_an_estimate_needs_no_cluster_but_with_a_team_checks_it(api, team, other_team, deployer):
    api.force_authenticate(deployer)
    alone = api.post(
        ESTIMATES,
        {
            "target": "gke-vllm",
            "model": "gemma-4-31b-it",
            "machine_type": "a3-highgpu-2g",
            "gpu_count": 2,
        },
        "json",
    )
    assert alone.status_code == 200, alone.json()
    assert alone.json()["estimate"]["hourly_max"] == "22.22"
    theirs = make_cluster(other_team, name="theirs")
    refused = api.post(ESTIMATES, body(theirs.pk), "json")
    assert refused.status_code == 400
    assert "cluster" in refused.json()["error"]["fields"]


# -- the request page ------------------------------------------------------------------


def test_the_form_offers_the_teams_clusters_and_warns_about_idle_gpus(
    client, team, other_team, deployer
):
    mine = make_cluster(team, name="ours")
    make_cluster(other_team, name="theirs")
    client.force_login(deployer)
    page = client.get(reverse("deployments:new") + "?target=gke-vllm").content.decode()
    assert f'<option value="{mine.pk}">ours (hangar-sandbox, us-central1)</option>' in page
    assert "theirs" not in page
    assert 'name="machine_type"' in page and 'name="cpu"' not in page
    form = {
        **body(mine.pk),
        "team": team.pk,
        "gpu_count": 1,
        "busy_hours_per_day": "8",
        "machine_type": "a3-edgegpu-8g-nolssd",
        "max_model_len": "16384",
    }
    # Priced before a cluster is chosen: every cluster bills the same node.
    unbound = client.post(reverse("deployments:estimate"), {**form, "cluster": ""})
    assert "$88.59" in unbound.content.decode()
    panel = client.post(reverse("deployments:estimate"), form).content.decode()
    assert "$88.59" in panel  # the whole node's hour, not one GPU's
    assert "Idle GPUs billed" in panel
    assert "7 idle GPUs cost about $77.43/h" in panel
    assert "a3-highgpu-1g (1 × H100) holds this pod for $11.06/h" in panel
    # A button selects the right-sized machine (static/hangar.js sets the field).
    assert 'data-set-field="machine_type" data-value="a3-highgpu-1g"' in panel
    right = client.post(
        reverse("deployments:estimate"), {**form, "machine_type": "a3-highgpu-1g"}
    ).content.decode()
    assert "$11.16" in right and "Idle GPUs billed" not in right
    assert "data-set-field" not in right
    response = client.post(reverse("deployments:new"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Deployment.objects.get().spec["cluster"] == mine.pk


# -- the price table ---------------------------------------------------------------------


def _migrate_prices() -> None:
    from importlib import import_module

    from django.apps import apps

    import_module("deployments.migrations.0005_prices_2026_12_05").forwards(apps, None)


def test_a_database_on_the_shipped_prices_gains_seed_003s_machine():
    from deployments.models import PriceTable
    from deployments.services.prices import price_table_active

    shipped = {**copy.deepcopy(PRICES), "version": "2026-11-22"}
    del shipped["gke"]["machines_per_hour"]["a3-edgegpu-8g-nolssd"]
    PriceTable.objects.create(version="2026-11-22", data=shipped, active=True)
    _migrate_prices()
    active = price_table_active()
    assert active.version == "2026-12-05"
    assert active.data["gke"]["machines_per_hour"]["a3-edgegpu-8g-nolssd"] == "88.49"


def test_prices_an_admin_set_are_left_alone():
    from deployments.models import PriceTable

    PriceTable.objects.create(version="ours", data=PRICES, active=True)
    _migrate_prices()
    assert PriceTable.objects.get(active=True).version == "ours"


def test_a_gke_deployments_pages_show_its_settings(client, team, deployer, approver):
    cluster = make_cluster(team, name="ours")
    client.force_login(deployer)
    response = client.post(URL, body(cluster.pk), content_type="application/json")
    assert response.status_code == 201, response.json()
    deployment = Deployment.objects.get()
    page = client.get(reverse("deployments:detail", args=[deployment.pk]))
    assert page.status_code == 200
    assert "Node machine (ComputeClass)" in page.content.decode()
    client.force_login(approver)
    approvals = client.get(reverse("deployments:approvals")).content.decode()
    assert "1 pod with 1 × H100 on a a3-edgegpu-8g-nolssd node (8 GPUs billed)" in approvals
