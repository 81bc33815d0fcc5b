"""Governance on the pages: the live estimate, the approval queue's facts."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from deployments.services import deployment_request

pytestmark = pytest.mark.django_db

FORM = {
    "target": "cloud-run-ollama",
    "model": "gemma3-4b",
    "region": "europe-west1",
    "gpu_type": "nvidia-l4",
    "gpu_count": "1",
    "cpu": "8",
    "memory_gib": "32",
    "ollama_parallel": "4",
    "concurrency": "4",
    "min_instances": "0",
    "max_instances": "1",
    "timeout_seconds": "600",
    "busy_hours_per_day": "8",
}


def test_live_estimate_shows_price_comparison_and_decision(client, team, deployer):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=4)
    client.force_login(deployer)
    response = client.post(reverse("deployments:estimate"), {**FORM, "team": team.pk})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "$1.42" in html  # per hour at max instances (seed 000)
    assert "$345.76" in html  # per month at 8 busy hours a day
    assert "prices of 2026-12-08" in html
    assert "GKE Inference Gateway + vLLM" in html
    assert (
        "Needs a platform admin&#x27;s approval" in html
        or "Needs a platform admin's approval" in html
    )
    assert "over the team&#x27;s auto-approval limit" in html or "auto-approval limit" in html


def test_live_estimate_waits_for_valid_settings_and_says_which(client, deployer):
    client.force_login(deployer)
    html = client.post(
        reverse("deployments:estimate"), {**FORM, "concurrency": "99"}
    ).content.decode()
    assert "Not priced until these are fixed" in html
    assert "<strong>Concurrency</strong>: Concurrency 99 is more than twice" in html
    html = client.post(reverse("deployments:estimate"), {**FORM, "cpu": "eight"}).content.decode()
    assert "<strong>CPUs</strong>: Enter a whole number." in html
    html = client.post(reverse("deployments:estimate"), {**FORM, "cpu": ""}).content.decode()
    assert "Fill in the settings" in html


def test_the_form_sends_justification_and_expiry(client, team, deployer):
    client.force_login(deployer)
    response = client.post(
        reverse("deployments:new"),
        {
            **FORM,
            "team": team.pk,
            "slug": "form-gov",
            "justification": "A/B test",
            "expires_in_hours": "5",
        },
    )
    assert response.status_code == 302
    deployment = team.deployments.get(slug="form-gov")
    assert deployment.justification == "A/B test"
    assert deployment.expires_at is not None
    assert deployment.estimate["price_version"] == "2026-12-08"


def test_approvals_queue_shows_why_estimate_and_quota(client, team, deployer, approver):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=1)
    ProjectGpuCapacity.objects.create(region="europe-west1", gpu_type="nvidia-l4", max_gpus=6)
    deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="queue-gov",
        values={"model": "gemma3-4b", "max_instances": 2},
        justification="Load test for launch",
    )
    client.force_login(approver)
    html = unescape(client.get(reverse("deployments:approvals")).content.decode())
    assert "Load test for launch" in html
    assert "$691.51" in html  # two instances for 8 busy hours a day
    assert "team quota: 0 → 2 of 1" in html
    assert "project: 0 → 2 of 6" in html


def test_detail_shows_approved_estimate_spend_and_cost_per_million_tokens(client, team, deployer):
    from datetime import timedelta

    from django.utils import timezone

    from deployments.models import CostAccrual
    from playground.models import UsageRecord

    deployment = deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="costed",
        values={"model": "gemma3-4b"},
        justification="demo",
    )
    now = timezone.now()
    CostAccrual.objects.create(
        deployment=deployment,
        team=team,
        period_start=now - timedelta(hours=1),
        period_end=now,
        amount=Decimal("3"),
        hourly_rate=Decimal("3"),
    )
    UsageRecord.objects.create(
        deployment=deployment,
        user=deployer,
        source="playground",
        prompt_tokens=400_000,
        completion_tokens=600_000,
    )
    client.force_login(deployer)
    html = unescape(
        client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    )
    assert "$345.76 per month" in html
    assert "prices of 2026-12-08; not recomputed" in html
    assert "$3.00 this month" in html
    assert "400000 prompt + 600000 completion" in html
    assert "$3.00 <small" in html  # $3 accrued over one million tokens


def test_live_estimate_on_the_vllm_form(client, deployer):
    client.force_login(deployer)
    form = {
        "target": "cloud-run-vllm",
        "model": "gemma-4-e2b-it",
        "region": "europe-west1",
        "gpu_type": "nvidia-l4",
        "gpu_count": "1",
        "cpu": "4",
        "memory_gib": "16",
        "concurrency": "4",
        "min_instances": "0",
        "max_instances": "1",
        "timeout_seconds": "600",
        "weights_source": "bucket",
        "gpu_memory_utilization": "0.90",
        "busy_hours_per_day": "8",
    }
    html = unescape(client.post(reverse("deployments:estimate"), form).content.decode())
    assert "$1.05" in html  # 1 L4 + 4 vCPU + 16 GiB per instance-hour
    assert "Cloud Run + vLLM" in html


def test_live_estimate_with_a_team_that_is_no_id_is_priced_without_a_decision(client, deployer):
    client.force_login(deployer)
    response = client.post(reverse("deployments:estimate"), {**FORM, "team": "not-a-number"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "per month" in html
    assert "Approved automatically" not in html
