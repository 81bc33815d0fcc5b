"""Frictions of the request form and API: the Ollama tag the form shows is accepted by the
API as the catalog key it names (one rule, stored as the key); switching target tab keeps
the Name and Justification typed so far."""

from typing import Any

import pytest
from django.urls import reverse

from deployments.catalog import MODELS
from deployments.models import Deployment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.mark.parametrize("url", ["/api/v1/deployments/", "/api/v1/estimates/"])
def test_the_api_takes_the_ollama_tag_the_form_shows(api: Any, deployer: Any, url: str) -> None:
    key = "gemma3-4b"
    tag = MODELS[key].ollama_tag
    assert tag != key
    api.force_authenticate(deployer)
    body = {"team": "ml-research", "slug": "gemma-tag", "model": tag}
    response = api.post(url, body, format="json")
    assert response.status_code in (200, 201), response.json()
    if url.endswith("deployments/"):
        assert Deployment.objects.get(slug="gemma-tag").model == key


def test_an_unknown_model_is_still_refused(api: Any, deployer: Any) -> None:
    api.force_authenticate(deployer)
    body = {"team": "ml-research", "slug": "nope", "model": "gemma3:999b"}
    response = api.post("/api/v1/deployments/", body, format="json")
    assert response.status_code == 400
    assert "model" in response.json()["error"]["fields"]


def test_a_target_tab_carries_name_and_justification(client: Any, team: Any, deployer: Any) -> None:
    client.force_login(deployer)
    html = client.get(reverse("deployments:new") + "?target=cloud-run-ollama").content.decode()
    assert 'data-carry="team slug justification"' in html

    carried = "?target=cloud-run-vllm&slug=my-model&justification=Evaluating+for+search"
    html = client.get(reverse("deployments:new") + carried).content.decode()
    assert 'value="my-model"' in html
    assert "Evaluating for search</textarea>" in html
