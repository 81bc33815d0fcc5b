"""What another platform scripting against the API relies on: filters, paged events, 409 on a
taken name, money as two-place decimal strings, unknown fields refused, a schema that
documents summaries, errors and the OpenAI-compatible passthrough."""

import re
from typing import Any

import pytest

from deployments import selectors
from deployments.choices import Status
from deployments.models import DeploymentEvent
from runbook.models import StepRun
from tests.factories import DeploymentFactory
from tests.page_rows import fill_timeline

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
REQUEST = {"team": "ml-research", "slug": "gemma-api", "model": "gemma3-4b"}
TWO_PLACES = re.compile(r"^-?\d+\.\d\d$")


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def slugs(response):
    assert response.status_code == 200, response.json()
    return sorted(d["slug"] for d in response.json()["results"])


def test_the_list_filters_by_status_team_and_target(api, team, other_team, deployer):
    DeploymentFactory(team=team, slug="ready-one", status=Status.READY)
    DeploymentFactory(team=team, slug="gone-one", status=Status.TORN_DOWN)
    DeploymentFactory(team=team, slug="vllm-one", target="cloud-run-vllm", status=Status.FAILED)
    api.force_authenticate(deployer)

    assert slugs(api.get(URL)) == ["gone-one", "ready-one", "vllm-one"]  # the API hides nothing
    assert slugs(api.get(URL, {"status": "ready"})) == ["ready-one"]
    assert slugs(api.get(f"{URL}?status=ready&status=failed")) == ["ready-one", "vllm-one"]
    assert slugs(api.get(URL, {"target": "cloud-run-vllm"})) == ["vllm-one"]
    assert slugs(api.get(URL, {"team": team.slug, "status": "torn_down"})) == ["gone-one"]
    assert slugs(api.get(URL, {"team": other_team.slug})) == []  # not theirs to see


def test_a_bad_filter_value_is_a_400_in_the_error_shape(api, deployer):
    api.force_authenticate(deployer)

    response = api.get(URL, {"status": "sideways"})

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_the_html_list_shares_the_filters_and_hides_torn_down_rows(client, team, deployer):
    DeploymentFactory(team=team, slug="ready-one", status=Status.READY)
    DeploymentFactory(team=team, slug="gone-one", status=Status.TORN_DOWN)
    client.force_login(deployer)

    default = client.get("/deployments/").content.decode()
    everything = client.get("/deployments/?show=all").content.decode()
    torn_down = client.get("/deployments/?status=torn_down").content.decode()

    assert "ready-one" in default and "gone-one" not in default
    assert "ready-one" in everything and "gone-one" in everything
    assert "gone-one" in torn_down and "ready-one" not in torn_down


def test_events_are_paginated(api, team, deployer):
    deployment = DeploymentFactory(team=team)
    DeploymentEvent.objects.bulk_create(
        DeploymentEvent(deployment=deployment, message=f"e{n}") for n in range(5)
    )
    api.force_authenticate(deployer)

    first = api.get(f"{URL}{deployment.pk}/events/", {"limit": 2}).json()

    assert first["count"] == 5
    assert [e["message"] for e in first["results"]] == ["e0", "e1"]
    assert "offset=2" in first["next"]


def test_event_pages_walk_the_whole_timeline_in_its_order(api, team, deployer):
    """Cut in SQL over both tables: every page in turn gives the timeline oldest first,
    a state change before a step run of the same instant."""
    deployment = DeploymentFactory(team=team)
    fill_timeline(deployment, 9)
    run = StepRun.objects.filter(owner_id=deployment.pk).order_by("created_at").last()
    same_time: Any = DeploymentEvent.objects.create(deployment=deployment, message="tie")
    DeploymentEvent.objects.filter(pk=same_time.pk).update(created_at=run.created_at)
    api.force_authenticate(deployer)

    walked = []
    for offset in range(0, 12, 4):
        page = api.get(f"{URL}{deployment.pk}/events/", {"limit": 4, "offset": offset}).json()
        assert page["count"] == 10
        walked += [(row["kind"], row["id"]) for row in page["results"]]

    timeline = selectors.deployment_timeline(deployment=deployment)
    assert walked == [(row.kind, row.pk) for row in timeline]
    assert walked.index(("transition", same_time.pk)) + 1 == walked.index(("step", run.pk))


def test_a_taken_name_is_a_409(api, deployer):
    api.force_authenticate(deployer)
    assert api.post(URL, REQUEST, format="json").status_code == 201

    response = api.post(URL, REQUEST, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "name_taken"
    assert "already called gemma-api" in error["fields"]["slug"][0]


def test_money_is_a_decimal_string_with_two_places(api, deployer):
    api.force_authenticate(deployer)

    created = api.post(URL, REQUEST, format="json").json()
    priced = api.post("/api/v1/estimates/", {**REQUEST, "max_instances": 3}, format="json").json()

    for estimate in (created["estimate"], priced["estimate"]):
        assert estimate["hourly_min"] == "0.00"  # scales to zero; once "0E-7"
        assert TWO_PLACES.match(estimate["hourly_max"]) and TWO_PLACES.match(estimate["monthly"])
        assert all(TWO_PLACES.match(cost) for _, cost in estimate["lines"])
    assert TWO_PLACES.match(priced["decision"]["projected_month"])
    for row in priced["comparison"]:
        if row["estimate"]:
            assert TWO_PLACES.match(row["estimate"]["monthly"])


def test_unknown_fields_are_refused_by_name(api, deployer):
    api.force_authenticate(deployer)

    response = api.post(URL, {**REQUEST, "max_instance": 3}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["max_instance"][0].startswith("Unknown field.")
    estimate = api.post("/api/v1/estimates/", {**REQUEST, "gpus": 2}, format="json")
    assert estimate.status_code == 400 and "gpus" in estimate.json()["error"]["fields"]


def test_the_schema_documents_summaries_errors_and_the_passthrough(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert all(op.get("summary") for op in operations)
    create = schema["paths"]["/api/v1/deployments/"]["post"]
    assert {"400", "401", "403", "409"} <= set(create["responses"])
    error = create["responses"]["409"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    chat = schema["paths"]["/api/v1/deployments/{id}/openai/v1/chat/completions"]["post"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    events = schema["paths"]["/api/v1/deployments/{id}/events/"]["get"]
    listed = events["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert listed.endswith("PaginatedDeploymentEventList")
    params = {p["name"] for p in schema["paths"]["/api/v1/deployments/"]["get"]["parameters"]}
    assert {"status", "team", "target", "limit", "offset"} <= params
