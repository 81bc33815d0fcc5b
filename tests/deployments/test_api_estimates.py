"""The estimate endpoint: the same estimator as the request, the targets side by side."""

from decimal import Decimal

import pytest

from deployments.models import ProjectGpuCapacity, TeamGpuQuota

pytestmark = pytest.mark.django_db
URL = "/api/v1/estimates/"


def test_estimate_of_seed_000_and_the_comparison(api, deployer):
    api.force_authenticate(deployer)
    response = api.post(URL, {"model": "gemma3-4b", "busy_hours_per_day": "8"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert Decimal(body["estimate"]["hourly_max"]).quantize(Decimal("0.01")) == Decimal("1.42")
    assert Decimal(body["estimate"]["monthly"]).quantize(Decimal("0.01")) == Decimal("345.76")
    assert body["estimate"]["price_version"] == "2026-12-08"
    rows = {row["target"]: row for row in body["comparison"]}
    assert set(rows) == {"cloud-run-ollama", "cloud-run-vllm", "gke-vllm", "gke-inference-gateway"}
    assert rows["cloud-run-ollama"]["fits"] is True
    assert rows["cloud-run-ollama"]["available_in_hangar"] is True
    assert rows["gke-inference-gateway"]["hardware"].startswith("GKE Standard, 1 × a3-highgpu-2g")
    # seed 004's GPU node and the regional cluster's three e2-medium default nodes, their
    # boot disks, and the cluster fee, billed whatever the traffic (the hand computation:
    # tests/deployments/targets/test_gke_estimates_by_hand.py)
    gateway = rows["gke-inference-gateway"]["estimate"]
    assert Decimal(gateway["hourly_min"]) == Decimal(gateway["hourly_max"]) == Decimal("22.39")
    assert "always-on" in rows["gke-vllm"]["cold_start"]


def test_a_model_too_big_for_an_l4_moves_to_a_larger_gpu_or_does_not_fit(api, deployer):
    api.force_authenticate(deployer)
    body = api.post(
        URL,
        {
            "model": "gemma4-31b",
            "ollama_parallel": 1,
            "concurrency": 1,
            "gpu_type": "nvidia-rtx-pro-6000",
            "cpu": 20,
            "memory_gib": 80,
            "region": "us-central1",
        },
        format="json",
    ).json()
    rows = {row["target"]: row for row in body["comparison"]}
    assert "RTX PRO 6000" in rows["cloud-run-ollama"]["hardware"]
    assert rows["cloud-run-vllm"]["fits"] is True  # 57.2 GiB of bf16 weights on 96 GB
    # One H100 holds it: the right-sized machine, not seed 003's 8-GPU node.
    assert "1 × a3-highgpu-1g (1 × H100 80 GB, billed whole)" in rows["gke-vllm"]["hardware"]
    assert rows["gke-vllm"]["available_in_hangar"] is True


def test_with_a_team_it_shows_quota_and_the_decision(api, team, deployer):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=1)
    ProjectGpuCapacity.objects.create(region="europe-west1", gpu_type="nvidia-l4", max_gpus=4)
    api.force_authenticate(deployer)
    body = api.post(
        URL, {"model": "gemma3-4b", "team": "ml-research", "max_instances": 2}, format="json"
    ).json()
    assert body["quota"]["team_quota"] == 1
    assert body["quota"]["team_after"] == 2
    assert body["quota"]["project_after"] == 2
    assert body["decision"]["outcome"] == "needs_approval"


def test_invalid_settings_are_field_errors(api, deployer):
    api.force_authenticate(deployer)
    response = api.post(URL, {"model": "gemma3-4b", "concurrency": 99}, format="json")
    assert response.status_code == 400
    assert "concurrency" in response.json()["error"]["fields"]


def test_request_carries_justification_busy_hours_and_expiry(api, team, deployer):
    team.default_ttl_hours = 24
    team.save()
    api.force_authenticate(deployer)
    body = api.post(
        "/api/v1/deployments/",
        {
            "team": "ml-research",
            "slug": "gov-api",
            "model": "gemma3-1b",
            "justification": "eval",
            "busy_hours_per_day": "2",
        },
        format="json",
    ).json()
    assert body["justification"] == "eval"
    assert body["busy_hours_per_day"] == "2.0"
    assert body["expires_at"] is not None
    assert body["estimate"]["busy_hours_per_day"] == "2.0"


def test_vllm_requests_are_estimated_with_their_own_fields(api, deployer):
    api.force_authenticate(deployer)
    body = api.post(
        URL, {"target": "cloud-run-vllm", "model": "gemma-4-e2b-it"}, format="json"
    ).json()
    # seed 002's sizing: 1 L4, 4 vCPU, 16 GiB = 1.04652 $/h at max instances
    assert Decimal(body["estimate"]["hourly_max"]).quantize(Decimal("0.01")) == Decimal("1.05")
    rows = {row["target"]: row for row in body["comparison"]}
    assert rows["cloud-run-vllm"]["fits"] is True
    assert rows["cloud-run-ollama"]["hardware"].startswith("Cloud Run, 1 × NVIDIA L4")


def test_the_chosen_targets_row_is_priced_in_the_requests_own_shape(api, deployer):
    api.force_authenticate(deployer)

    body = api.post(URL, {"model": "gemma3-4b", "max_instances": 3}, format="json").json()

    chosen = next(row for row in body["comparison"] if row["target"] == "cloud-run-ollama")
    assert chosen["estimate"] == body["estimate"]
    assert chosen["hardware"] == "Cloud Run, 1 × NVIDIA L4 (24 GB), 8 vCPU, 32 GiB, 0–3 instances"
    other = next(row for row in body["comparison"] if row["target"] == "cloud-run-vllm")
    assert other["hardware"].endswith("0–1 instance")  # the others keep their seed's shape


def test_the_live_panel_row_matches_the_estimate_above_it(client, deployer, team):
    client.force_login(deployer)
    form = {
        "target": "cloud-run-ollama",
        "team": team.pk,
        "model": "gemma3-4b",
        "region": "europe-west1",
        "gpu_type": "nvidia-l4",
        "gpu_count": 1,
        "cpu": 8,
        "memory_gib": 32,
        "ollama_parallel": 4,
        "concurrency": 4,
        "min_instances": 0,
        "max_instances": 3,
        "timeout_seconds": 600,
        "busy_hours_per_day": 8,
    }

    html = client.post("/deployments/estimate/", form).content.decode()

    chosen = html[html.index('class="chosen"') :]
    chosen = chosen[: chosen.index("</tr>")]
    assert "0–3 instances" in chosen and "$4.26" in chosen  # as the figures above say
    assert "$4.26" in html[: html.index('class="compare"')]
