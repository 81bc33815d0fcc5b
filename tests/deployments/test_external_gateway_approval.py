"""An external Gateway is a platform admin's allowance, given when approving (issue 14
item 5): the approvals page's checkbox or an approval token's `external_gateway` puts it
in the deployment's spec, the deploy plan's Gateway then has the external regional class,
and the timeline and the audit say who allowed it. No requester sets it, and a target
without a Gateway refuses it on the field."""

from typing import Any

import pytest

from deployments.choices import Phase, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.plans import plan_for
from deployments.targets import spec_for
from deployments.targets.gke_inference_gateway import gateway as gw
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from portal.models import AuditEvent
from portal.services import approval_token_create
from tests.deployments.targets.test_gke_inference_gateway_target import body, make_cluster, token
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
CLUSTER = "projects/hangar-sandbox/locations/us-central1/clusters/std"

__all__ = ["token"]  # a fixture the request form's test uses


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def gateway_request(team: Any, deployer: Any) -> Any:
    spec = GkeInferenceGatewaySpec(
        cluster=1, cluster_name=CLUSTER, region="us-central1", team_gpus=8
    )
    return DeploymentFactory(
        team=team,
        requested_by=deployer,
        target="gke-inference-gateway",
        model=spec.model,
        region=spec.region,
        gpu_type=spec.gpu_type,
        gpu_count=spec.gpu_count,
        spec=spec.spec_json(),
    )


def gateway_class(deployment: Any) -> str:
    plan = plan_for(Deployment.objects.get(pk=deployment.pk), Phase.DEPLOY)
    bodies = [s.request.body for s in plan.steps if s.request.api == "kubernetes"]
    gateways = [b for b in bodies if b and b.get("kind") == "Gateway"]
    assert len(gateways) == 1
    return str(gateways[0]["spec"]["gatewayClassName"])


def approval(deployment: Any) -> DeploymentEvent:
    return DeploymentEvent.objects.get(deployment=deployment, to_status=Status.APPROVED)


def test_approving_on_the_page_with_the_box_ticked_plans_an_external_gateway(
    client, team, deployer, approver
):
    deployment = gateway_request(team, deployer)
    client.force_login(approver)
    page = client.get("/deployments/approvals/").content.decode()
    assert 'name="external_gateway"' in page

    client.post(
        f"/deployments/{deployment.pk}/approve/",
        {"reason": "public demo", "external_gateway": "on"},
    )

    deployment.refresh_from_db()
    assert deployment.status == Status.APPROVED
    assert spec_for(deployment).external_gateway is True
    assert gateway_class(deployment) == gw.EXTERNAL == "gke-l7-regional-external-managed"
    event = approval(deployment)
    assert event.actor == approver and "external Gateway allowed" in event.message
    timeline = client.get(f"/deployments/{deployment.pk}/timeline/").content.decode()
    assert "external Gateway allowed" in timeline and approver.username in timeline
    audit = AuditEvent.objects.get(action="deployment.approved", object_id=str(deployment.pk))
    assert audit.actor == approver and "external Gateway allowed" in audit.reason


def test_approving_without_the_box_keeps_the_gateway_internal(client, team, deployer, approver):
    deployment = gateway_request(team, deployer)
    client.force_login(approver)
    client.post(f"/deployments/{deployment.pk}/approve/", {"reason": "fits"})
    deployment.refresh_from_db()
    assert deployment.status == Status.APPROVED
    assert gateway_class(deployment) == gw.INTERNAL == "gke-l7-rilb"
    assert "external" not in approval(deployment).message


def test_an_approval_token_allows_an_external_gateway(api, team, deployer, approver):
    deployment = gateway_request(team, deployer)
    approver_token, secret = approval_token_create(owner=approver, name="approver-bot")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post(
        f"{URL}{deployment.pk}/approve/",
        {"reason": "demo", "external_gateway": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert gateway_class(deployment) == gw.EXTERNAL
    event = approval(deployment)
    assert event.actor == approver and event.actor_token == approver_token
    assert "external Gateway allowed" in event.message


def test_a_deployer_cannot_allow_it_by_approving(api, client, team, deployer):
    deployment = gateway_request(team, deployer)
    api.force_authenticate(deployer)
    response = api.post(f"{URL}{deployment.pk}/approve/", {"external_gateway": True}, "json")
    assert response.status_code == 403
    client.force_login(deployer)
    client.post(f"/deployments/{deployment.pk}/approve/", {"external_gateway": "on"})
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL
    assert deployment.spec["external_gateway"] is False


def test_the_request_form_ignores_a_posted_external_gateway(client, team, deployer, token):
    cluster = make_cluster(team)
    client.force_login(deployer)
    page = client.get("/deployments/new/?target=gke-inference-gateway")
    assert 'name="external_gateway"' not in page.content.decode()
    defaults = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    form = {**defaults, **body(cluster.pk), "team": team.pk, "external_gateway": "on"}
    response = client.post("/deployments/new/", form)
    assert response.status_code == 302, response.context["form"].errors
    assert Deployment.objects.get().spec["external_gateway"] is False


def test_a_target_without_a_gateway_refuses_it_on_the_field(api, client, team, deployer, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer)  # cloud-run-ollama
    client.force_login(approver)
    page = client.get("/deployments/approvals/").content.decode()
    assert 'name="external_gateway"' not in page
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post(f"{URL}{deployment.pk}/approve/", {"external_gateway": True}, "json")
    assert response.status_code == 400
    assert "has no Gateway" in response.json()["error"]["fields"]["external_gateway"][0]
    client.post(f"/deployments/{deployment.pk}/approve/", {"external_gateway": "on"})
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL
    assert "external_gateway" not in deployment.spec


def test_it_is_allowed_only_when_approving(api, team, deployer, approver):
    deployment = gateway_request(team, deployer)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.post(f"{URL}{deployment.pk}/approve/", {}, "json").status_code == 200
    again = api.post(f"{URL}{deployment.pk}/approve/", {"external_gateway": True}, "json")
    assert again.status_code == 400
    assert "only when approving" in again.json()["error"]["fields"]["external_gateway"][0]
    assert gateway_class(deployment) == gw.INTERNAL


@pytest.mark.parametrize("value", ["maybe", 2, [True], {"on": True}])
def test_a_malformed_allowance_is_a_field_error(api, team, deployer, approver, value):
    deployment = gateway_request(team, deployer)
    _, secret = approval_token_create(owner=approver, name="approver-bot")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post(f"{URL}{deployment.pk}/approve/", {"external_gateway": value}, "json")
    assert response.status_code == 400
    assert "external_gateway" in response.json()["error"]["fields"]
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL
