"""The REST API: token and session auth, team scoping, actions, one error shape, OpenAPI."""

import pytest
from django.utils import timezone

from deployments.choices import Status
from portal.models import ApiToken
from portal.services import approval_token_create
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
REQUEST = {"team": "ml-research", "slug": "gemma-api", "model": "gemma3-4b"}


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def bearer(api, secret):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


def test_create_with_a_team_token_uses_seed_defaults(api, team_token, team_admin):
    response = bearer(api, team_token).post(URL, REQUEST, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending_approval"
    assert body["team"] == "ml-research"
    assert body["requested_by"] == team_admin.username
    assert body["spec"] == {
        "cpu": 8,
        "memory_gib": 32,
        "ollama_parallel": 4,
        "concurrency": 4,
        "min_instances": 0,
        "max_instances": 1,
        "timeout_seconds": 600,
    }
    assert (body["gpu_type"], body["gpu_count"], body["region"]) == ("nvidia-l4", 1, "europe-west1")


def test_token_is_stored_hashed_and_marks_its_use(api, team_token):
    row = ApiToken.objects.get()
    assert team_token not in (row.key_hash, row.prefix)
    assert row.last_used_at is None
    bearer(api, team_token).get(URL)
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_revoked_or_expired_or_wrong_tokens_are_refused(api, team_token):
    row = ApiToken.objects.get()
    assert bearer(api, team_token).get(URL).status_code == 200
    row.revoked_at = timezone.now()
    row.save()
    response = bearer(api, team_token).get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API token is revoked or expired."
    assert bearer(api, team_token[:-2] + "xx").get(URL).status_code == 401
    assert bearer(api, "hgr_nope").get(URL).status_code == 401


def test_anonymous_is_refused_in_the_error_shape(api):
    response = api.get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_validation_errors_come_back_per_field(api, deployer):
    api.force_authenticate(deployer)
    response = api.post(
        URL,
        {**REQUEST, "model": "gemma3-27b", "ollama_parallel": 8, "concurrency": 8},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert "needs about 29.5 GiB" in error["fields"]["model"][0]


def test_serializer_type_errors_share_the_shape(api, deployer):
    api.force_authenticate(deployer)
    response = api.post(URL, {**REQUEST, "cpu": "eight"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["cpu"] == ["A valid integer is required."]


def test_unknown_team_is_a_field_error(api, outsider):
    api.force_authenticate(outsider)
    response = api.post(URL, REQUEST, format="json")
    assert response.status_code == 400
    assert "team" in response.json()["error"]["fields"]


def test_users_see_only_their_teams(api, team, other_team, deployer, outsider):
    mine = DeploymentFactory(team=team)
    theirs = DeploymentFactory(team=other_team)
    api.force_authenticate(deployer)
    listed = [d["id"] for d in api.get(URL).json()["results"]]
    assert listed == [mine.pk]
    response = api.get(f"{URL}{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_token_sees_only_its_team_even_if_its_owner_sees_more(
    api, team, other_team, team_admin, team_token
):
    from portal.models import Membership, Role

    Membership.objects.create(team=other_team, user=team_admin, role=Role.ADMIN)
    DeploymentFactory(team=team)
    theirs = DeploymentFactory(team=other_team)
    listed = [d["team"] for d in bearer(api, team_token).get(URL).json()["results"]]
    assert listed == ["ml-research"]
    assert bearer(api, team_token).get(f"{URL}{theirs.pk}/").status_code == 404


def test_approve_and_reject_are_for_platform_admins(api, team, deployer, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    api.force_authenticate(deployer)
    response = api.post(f"{URL}{deployment.pk}/approve/", {"reason": "me"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"

    api.force_authenticate(None)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    bearer(api, secret)
    response = api.post(
        f"{URL}{deployment.pk}/approve/", {"reason": "fits the quota"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    response = api.post(f"{URL}{deployment.pk}/reject/", {"reason": "late"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "invalid_transition",
        "message": f"Deployment {deployment.slug} is approved, queued; it cannot become rejected.",
        "status": "approved",
    }


def test_reject_with_reason(api, team, approver):
    deployment = DeploymentFactory(team=team)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    bearer(api, secret)
    response = api.post(
        f"{URL}{deployment.pk}/reject/", {"reason": "No quota in europe-west1"}, format="json"
    )
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == "No quota in europe-west1"


def test_tear_down_plan_and_events(api, team, deployer, team_token):
    deployment = DeploymentFactory(team=team, requested_by=deployer, status=Status.READY)
    bearer(api, team_token)
    plan = api.get(f"{URL}{deployment.pk}/plan/").json()
    assert [s["key"] for s in plan["steps"]][:2] == ["ensure_repository", "build_image"]
    teardown = api.get(f"{URL}{deployment.pk}/plan/?phase=teardown").json()
    assert teardown["phase"] == "teardown"
    assert api.get(f"{URL}{deployment.pk}/plan/?phase=sideways").status_code == 400

    response = api.post(f"{URL}{deployment.pk}/tear-down/", {"reason": "finished"}, format="json")
    assert response.json()["status"] == "tearing_down"
    events = api.get(f"{URL}{deployment.pk}/events/").json()["results"]
    assert events[-1]["to_status"] == "tearing_down"
    assert events[-1]["message"] == "finished"


def test_openapi_schema_and_docs_page(client, deployer):
    client.force_login(deployer)
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/deployments/{id}/approve/" in paths
    assert "/api/v1/deployments/{id}/tear-down/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.parametrize("pk", ["abc", "1.5", "99999999999999999999999"])
def test_an_id_that_is_not_a_deployment_id_is_a_404_in_the_error_shape(api, deployer, pk):
    api.force_authenticate(deployer)
    for path in (f"{URL}{pk}/", f"{URL}{pk}/events/", f"{URL}{pk}/plan/"):
        response = api.get(path)
        assert response.status_code == 404, (path, response.content[:200])
        assert response.json()["error"]["code"] == "not_found"
