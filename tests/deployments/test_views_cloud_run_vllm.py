"""The request form for cloud-run-vllm, chosen by ?target=, and the detail page of one."""

import re

import pytest
from django.urls import reverse

from deployments.models import Deployment
from portal.models import TeamHfSecret

pytestmark = pytest.mark.django_db

NEW = reverse("deployments:new")


def form_data(team, **values):
    return {
        "team": team.pk,
        "slug": "vllm-form",
        "target": "cloud-run-vllm",
        "model": "gemma-4-e2b-it",
        "region": "europe-west1",
        "gpu_type": "nvidia-l4",
        "gpu_count": 1,
        "cpu": 4,
        "memory_gib": 16,
        "weights_source": "bucket",
        "gpu_memory_utilization": "0.90",
        "max_model_len": "",
        "concurrency": 16,
        "min_instances": 0,
        "max_instances": 1,
        "timeout_seconds": 600,
        "justification": "",
        "busy_hours_per_day": "8",
        "expires_in_hours": "",
        **values,
    }


def test_the_target_switch_shows_the_vllm_form_with_seed_defaults(client, deployer):
    client.force_login(deployer)
    page = client.get(NEW + "?target=cloud-run-vllm").content.decode()
    assert 'name="weights_source"' in page
    assert 'name="gpu_memory_utilization"' in page
    assert 'name="ollama_parallel"' not in page
    assert 'value="0.90"' in page
    assert "?target=cloud-run-ollama" in page


def test_a_model_that_does_not_fit_is_refused_with_a_length_that_fits(client, team, deployer):
    client.force_login(deployer)
    response = client.post(NEW, form_data(team, model="gemma-4-e4b-it"))
    assert response.status_code == 400
    assert "Set max model length to 56320 or less" in response.content.decode()
    assert not Deployment.objects.exists()


def test_a_request_through_the_form_and_its_detail_page(client, team, deployer):
    client.force_login(deployer)
    response = client.post(NEW, form_data(team, max_model_len="8192"))
    assert response.status_code == 302, response.content.decode()[:2000]
    deployment = Deployment.objects.get(slug="vllm-form")
    assert deployment.target == "cloud-run-vllm"
    assert deployment.spec["weights_source"] == "bucket"
    assert deployment.spec["gpu_memory_utilization"] == "0.90"
    assert deployment.spec["max_model_len"] == 8192
    page = client.get(reverse("deployments:detail", kwargs={"pk": deployment.pk})).content.decode()
    assert "GPU memory utilisation" in page
    assert "Download google/gemma-4-E2B-it into the bucket" in page


def test_a_gated_model_without_the_team_token_is_refused_on_the_form(client, team, deployer):
    client.force_login(deployer)
    response = client.post(NEW, form_data(team, model="gemma-3-1b-it"))
    assert response.status_code == 400
    assert "gated on Hugging Face" in response.content.decode()
    assert not TeamHfSecret.objects.exists()


def test_the_approvals_page_shows_vllms_own_fields(client, team, deployer, approver):
    from deployments.services.requests import deployment_request

    deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-vllm",
        slug="vllm-ask",
        values={"model": "gemma-4-e2b-it", "weights_source": "bucket", "max_instances": 3},
    )
    client.force_login(approver)

    html = client.get("/deployments/approvals/").content.decode()

    assert "Ollama" not in html.split('id="request-', 1)[1].split("<details>", 1)[0]
    assert "<dt>Max instances</dt><dd>3</dd>" in html


def test_the_refused_length_is_offered_as_one_click(client, team, deployer):
    client.force_login(deployer)
    response = client.post(reverse("deployments:estimate"), form_data(team, model="gemma-4-e4b-it"))
    panel = response.content.decode()
    fits = re.search(r"Set max model length to (\d+) or less", panel)
    assert fits, panel
    button = f'data-set-field="max_model_len" data-value="{fits.group(1)}"'
    assert button in panel

    # The value it fills in is accepted: the estimate is priced.
    priced = client.post(
        reverse("deployments:estimate"),
        form_data(team, model="gemma-4-e4b-it", max_model_len=fits.group(1)),
    ).content.decode()
    assert 'data-set-field="max_model_len"' not in priced and "per month" in priced
