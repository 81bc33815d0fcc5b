"""Nobody approves or rejects GPU spend they asked for, by any route; over the API only an
approval token (made for that purpose by a platform admin, that scope alone) approves."""

import pytest

from deployments.choices import Status
from deployments.services.decisions import deployment_approve, deployment_reject
from portal.exceptions import PermissionDenied, ValidationFailed
from portal.models import ApiToken, AuditEvent, Role, TokenScope
from portal.services import api_token_create, approval_token_create
from tests.factories import DeploymentFactory, MembershipFactory, platform_admin

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.fixture
def admin_in_team(team):
    """A platform admin who is also a team admin, and so can request deployments."""
    user = platform_admin("boss")
    MembershipFactory(team=team, user=user, role=Role.ADMIN)
    return user


def bearer(api, secret):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_platform_admin_cannot_decide_their_own_request_in_the_service(admin_in_team, decide):
    deployment = DeploymentFactory(requested_by=admin_in_team)
    service = deployment_approve if decide == "approve" else deployment_reject
    with pytest.raises(PermissionDenied, match="asked for"):
        service(deployment=deployment, by=admin_in_team, reason="mine")
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_platform_admin_cannot_decide_their_own_request_on_the_page(
    client, team, admin_in_team, decide
):
    deployment = DeploymentFactory(team=team, requested_by=admin_in_team)
    client.force_login(admin_in_team)
    client.post(f"/deployments/{deployment.pk}/{decide}/", {"reason": "mine"})
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


@pytest.mark.parametrize("page", ["/deployments/approvals/", "/deployments/{pk}/"])
def test_the_pages_offer_no_decision_on_ones_own_request(client, team, admin_in_team, page):
    own = DeploymentFactory(team=team, requested_by=admin_in_team, slug="mine")
    client.force_login(admin_in_team)
    html = client.get(page.format(pk=own.pk)).content.decode()
    assert f'action="/deployments/{own.pk}/approve/"' not in html
    assert "another platform admin decides" in html


def test_the_approvals_page_offers_a_decision_on_someone_elses_request(
    client, team, deployer, admin_in_team
):
    theirs = DeploymentFactory(team=team, requested_by=deployer, slug="theirs")
    client.force_login(admin_in_team)
    html = client.get("/deployments/approvals/").content.decode()
    assert f'action="/deployments/{theirs.pk}/approve/"' in html


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_platform_admin_cannot_decide_their_own_request_over_the_api_session(
    api, team, admin_in_team, decide
):
    deployment = DeploymentFactory(team=team, requested_by=admin_in_team)
    api.force_login(admin_in_team)
    response = api.post(f"{URL}{deployment.pk}/{decide}/", {"reason": "mine"}, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_over_the_api_a_signed_in_platform_admin_needs_an_approval_token(
    api, team, deployer, approver, decide
):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    api.force_login(approver)
    response = api.post(f"{URL}{deployment.pk}/{decide}/", {"reason": "ok"}, format="json")
    assert response.status_code == 403, response.json()
    assert "approval token" in response.json()["error"]["message"]
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_team_token_never_approves_even_when_a_platform_admin_owns_it(
    api, team, deployer, admin_in_team, decide
):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    _, secret = api_token_create(team=team, owner=admin_in_team, name="ci")
    response = bearer(api, secret).post(
        f"{URL}{deployment.pk}/{decide}/", {"reason": "ok"}, format="json"
    )
    assert response.status_code == 403, response.json()
    assert "approval token" in response.json()["error"]["message"]
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


def test_only_a_platform_admin_makes_an_approval_token(team_admin):
    with pytest.raises(PermissionDenied):
        approval_token_create(owner=team_admin, name="approver-bot")


def test_an_approval_token_approves_on_the_record(api, team, deployer, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    token, secret = approval_token_create(owner=approver, name="approver-bot")
    assert token.scope == TokenScope.APPROVE and token.team is None
    created = AuditEvent.objects.get(action="token.created", object_id=str(token.pk))
    assert created.after["scope"] == "approve"
    assert secret not in str(created.after)

    response = bearer(api, secret).post(
        f"{URL}{deployment.pk}/approve/", {"reason": "fits"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    audit = AuditEvent.objects.get(action="deployment.approved", object_id=str(deployment.pk))
    assert audit.actor == approver and audit.actor_token == token


def test_an_approval_token_rejects_with_a_reason(api, team, deployer, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    response = bearer(api, secret).post(
        f"{URL}{deployment.pk}/reject/", {"reason": "no quota"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"


def test_an_approval_token_cannot_approve_its_owners_request(api, team, admin_in_team):
    deployment = DeploymentFactory(team=team, requested_by=admin_in_team)
    _, secret = approval_token_create(owner=admin_in_team, name="approver-bot")
    response = bearer(api, secret).post(
        f"{URL}{deployment.pk}/approve/", {"reason": "mine"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}{{pk}}/"),
        ("get", f"{URL}{{pk}}/plan/"),
        ("get", f"{URL}{{pk}}/events/"),
        ("post", f"{URL}{{pk}}/retry/"),
        ("post", f"{URL}{{pk}}/tear-down/"),
        ("post", "/api/v1/estimates/"),
    ],
)
def test_an_approval_token_does_nothing_else(api, team, deployer, approver, method, path):
    deployment = DeploymentFactory(team=team, requested_by=deployer, status=Status.READY)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    response = getattr(bearer(api, secret), method)(
        path.format(pk=deployment.pk), {}, format="json"
    )
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_approval_token_cannot_chat(client, team, deployer, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer, status=Status.READY)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    response = client.get(
        f"/api/v1/deployments/{deployment.pk}/openai/v1/models",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code in (401, 403, 404)


def test_a_revoked_approval_token_stops_approving(api, team, deployer, approver):
    from portal.services import api_token_revoke

    deployment = DeploymentFactory(team=team, requested_by=deployer)
    token, secret = approval_token_create(owner=approver, name="approver-bot")
    api_token_revoke(token=token, by=approver)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    response = bearer(api, secret).post(
        f"{URL}{deployment.pk}/approve/", {"reason": "ok"}, format="json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_decision_reason_has_a_length_limit(api, team, deployer, approver, decide):
    deployment = DeploymentFactory(team=team, requested_by=deployer)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    bearer(api, secret)
    response = api.post(f"{URL}{deployment.pk}/{decide}/", {"reason": "x" * 2001}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    service = deployment_approve if decide == "approve" else deployment_reject
    with pytest.raises(ValidationFailed):
        service(deployment=deployment, by=approver, reason="x" * 2001)
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL
