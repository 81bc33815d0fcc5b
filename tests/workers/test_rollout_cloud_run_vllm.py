"""Cloud Run + vLLM end to end, for both weight sources: the team's Hugging Face token →
API request → approval → a real worker → Google (the sandbox) → /health and a chat → tear down.
"""

import json

import pytest
import requests
from google.cloud import run_v2
from google.cloud.devtools import cloudbuild_v1

from deployments.choices import Status
from deployments.models import Deployment
from deployments.plans import plan_for
from gcp.endpoint import get, post_json
from portal.services import approval_token_create
from portal.services_hf_token import hf_token_save
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.workers.helpers import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HF_TOKEN = "hf_SandboxTokenNeverToBeSeen0123456789"
MODEL = "google/gemma-3-1b-it"


def request_and_approve(api, token, approver, slug, **values):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {
        "team": "ml-research",
        "slug": slug,
        "target": "cloud-run-vllm",
        "model": "gemma-3-1b-it",
        **values,
    }
    created = api.post("/api/v1/deployments/", body, format="json")
    assert created.status_code == 201, created.json()
    # Over the API only an approval token approves (deployments/services/decisions.py).
    _, approval = approval_token_create(owner=approver, name=f"approve-{slug}")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {approval}")
    approved = api.post(
        f"/api/v1/deployments/{created.json()['id']}/approve/", {"reason": "ok"}, format="json"
    )
    # A worker may already have taken the approved row when the reply is read.
    assert approved.json()["status"] in ("approved", "deploying"), approved.json()
    api.credentials()
    return Deployment.objects.get(pk=created.json()["id"])


def as_message(message_class, body):
    return message_class.from_json(json.dumps(body))


def steps_of(deployment, phase="deploy"):
    return {
        e.step: e for e in runs_of("deployment", deployment.pk).filter(phase=phase).order_by("pk")
    }


def tear_down(api, approver, deployment):
    api.force_authenticate(approver)
    api.post(f"/api/v1/deployments/{deployment.pk}/tear-down/", {"reason": "done"}, format="json")
    api.force_authenticate(None)
    return wait_for_status(deployment, Status.TORN_DOWN, Status.FAILED)


@pytest.mark.parametrize("source", ["baked", "bucket"])
def test_roll_out_chat_and_tear_down(
    api, team, team_admin, team_token, approver, sandbox, worker, source
):
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)
    slug = f"vllm-{source}"
    deployment = request_and_approve(
        api, team_token, approver, slug, weights_source=source, max_model_len=8192
    )
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED)
    assert deployment.status == Status.READY, (deployment.failure_step, deployment.failure_message)

    plan = plan_for(deployment)
    steps = steps_of(deployment)
    assert list(steps) == [s.key for s in plan.steps]
    assert all(e.outcome == Outcome.SUCCEEDED for e in steps.values())
    assert "The model answered" in steps["smoke_test"].detail["message"]

    # Google received exactly the plan's service and build requests.
    [patch] = sandbox.requests(path_regex=rf"/services/{slug}$", method="PATCH")
    assert as_message(run_v2.Service, patch["body"]) == as_message(
        run_v2.Service, plan.step("deploy_service").request.body
    )
    build_key = "build_image" if source == "baked" else "download_weights"
    [build] = sandbox.requests(path_regex=r"/builds$", method="POST")
    assert as_message(cloudbuild_v1.Build, build["body"]) == as_message(
        cloudbuild_v1.Build, plan.step(build_key).request.body
    )

    state = sandbox.state()
    [account] = state["serviceAccounts"]
    [service] = state["services"]
    assert service["service"]["template"]["serviceAccount"] == account["email"]
    [secret] = state["secrets"]
    members = [m for b in secret["iamPolicy"]["bindings"] for m in b["members"]]
    assert f"serviceAccount:{account['email']}" in members
    if source == "bucket":
        [bucket] = state["buckets"]
        assert f"{MODEL}/config.json" in bucket["objects"]
        assert service["service"]["template"]["volumes"][0]["gcs"]["bucket"] == bucket["name"]
        assert all(r["packages"] == [] for r in state["repositories"])
    else:
        assert state["buckets"] == []

    # /health first, then the OpenAI-compatible chat, both with an ID token.
    health = get(
        address=deployment.endpoint_url, credential="cloud-run-id-token", path="/health", timeout=10
    )
    assert health.status == 200
    reply = post_json(
        address=deployment.endpoint_url,
        credential="cloud-run-id-token",
        path="/v1/chat/completions",
        body={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert reply.status == 200
    assert reply.body["choices"][0]["message"]["content"]
    assert requests.get(deployment.endpoint_url + "/health", timeout=10).status_code == 401

    deployment = tear_down(api, approver, deployment)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message
    state = sandbox.state()
    assert state["services"] == []
    assert state["serviceAccounts"] == []
    assert state["buckets"] == []
    assert all(r["packages"] == [] for r in state["repositories"])
    [secret] = state["secrets"]  # the team's secret stays; only this deployment's access goes
    members = [m for b in secret["iamPolicy"].get("bindings", []) for m in b["members"]]
    assert f"serviceAccount:{account['email']}" not in members


def test_permission_denied_on_the_bucket_policy_names_the_role(
    api, team, team_admin, team_token, approver, sandbox, worker
):
    """A 403 on the bucket's policy fails the step and names the role that grants it."""
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)
    sandbox.add_fault(method="PUT", path=r"/storage/v1/b/[^/]+/iam$", status=403, times=10)
    deployment = request_and_approve(
        api, team_token, approver, "vllm-noread", weights_source="bucket", max_model_len=8192
    )
    deployment = wait_for_status(deployment, Status.FAILED, Status.READY)
    assert deployment.failure_step == "grant_bucket_reader"
    assert "roles/storage.admin" in deployment.failure_hint
