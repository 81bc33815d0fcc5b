"""Cloud Run + Ollama end to end: API → approval → a real worker → Google (the sandbox) → chat."""

import json

import pytest
import requests
from google.cloud import run_v2
from google.cloud.devtools import cloudbuild_v1

from deployments.choices import Status
from deployments.models import Deployment
from deployments.plans import plan_for
from gcp.endpoint import post_json
from portal.services import approval_token_create
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.workers.helpers import wait_for_status, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REQUEST = {"team": "ml-research", "slug": "gemma-e2e", "model": "gemma3-4b"}


def request_and_approve(api, token, approver, slug="gemma-e2e"):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = api.post("/api/v1/deployments/", {**REQUEST, "slug": slug}, format="json")
    assert created.status_code == 201, created.json()
    # Over the API only an approval token approves (deployments/services/decisions.py).
    _, approval = approval_token_create(owner=approver, name=f"approve-{slug}")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {approval}")
    approved = api.post(
        f"/api/v1/deployments/{created.json()['id']}/approve/", {"reason": "ok"}, format="json"
    )
    assert approved.json()["status"] == "approved"
    api.credentials()
    return Deployment.objects.get(pk=created.json()["id"])


def as_message(message_class, body):
    return message_class.from_json(json.dumps(body))


def steps_finished(deployment, step):
    return (
        runs_of("deployment", deployment.pk).get(step=step, outcome=Outcome.SUCCEEDED).finished_at
    )


def step_events(deployment, phase="deploy"):
    return {
        e.step: e for e in runs_of("deployment", deployment.pk).filter(phase=phase).order_by("pk")
    }


def test_request_approve_roll_out_chat_and_tear_down(api, team_token, approver, sandbox, worker):
    deployment = request_and_approve(api, team_token, approver)
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED)
    assert deployment.status == Status.READY, deployment.failure_message
    assert deployment.endpoint_url.endswith("/_run/hangar-sandbox/europe-west1/gemma-e2e")
    # The spend clock started when the service was created (the plan's billing step).
    assert deployment.cost_accrued_until == steps_finished(deployment, "deploy_service")

    # Every step recorded with its start, end and outcome; long ones with their operation.
    steps = step_events(deployment)
    assert list(steps) == [s.key for s in plan_for(deployment).steps]
    for event in steps.values():
        assert event.outcome == Outcome.SUCCEEDED
        assert event.started_at <= event.finished_at
    assert steps["build_image"].operation.startswith(
        "projects/hangar-sandbox/locations/europe-west1/builds/"
    )
    assert "/operations/" in steps["deploy_service"].operation
    assert "The model answered" in steps["smoke_test"].detail["message"]

    # Google received exactly the plan's requests. The client sends enums as numbers
    # (`$alt=json;enum-encoding=int`), so both sides are compared as proto messages.
    plan = plan_for(deployment)
    [patch] = sandbox.requests(path_regex=r"/services/gemma-e2e$", method="PATCH")
    assert as_message(run_v2.Service, patch["body"]) == as_message(
        run_v2.Service, plan.step("deploy_service").request.body
    )
    [build] = sandbox.requests(path_regex=r"/builds$", method="POST")
    assert as_message(cloudbuild_v1.Build, build["body"]) == as_message(
        cloudbuild_v1.Build, plan.step("build_image").request.body
    )
    policy = sandbox.state()
    assert "allUsers" not in json.dumps(policy)

    # The private endpoint answers a chat with an ID token, and refuses one without.
    reply = post_json(
        address=deployment.endpoint_url,
        credential="cloud-run-id-token",
        path="/api/chat",
        body={
            "model": "gemma3:4b",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
        },
        timeout=10,
    )
    assert reply.status == 200
    assert reply.body["message"]["content"]
    bare = requests.post(
        deployment.endpoint_url + "/api/chat", json={"model": "gemma3:4b"}, timeout=10
    )
    assert bare.status_code == 401

    # Tear down leaves nothing behind that costs money.
    api.force_authenticate(approver)
    api.post(f"/api/v1/deployments/{deployment.pk}/tear-down/", {"reason": "done"}, format="json")
    deployment = wait_for_status(deployment, Status.TORN_DOWN, Status.FAILED)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message
    # ...and stopped when it was deleted, with the last interval accrued.
    assert deployment.cost_accrued_until is None
    [accrual] = deployment.accruals.all()
    assert accrual.period_end == steps_finished(deployment, "delete_service")
    assert accrual.amount > 0
    state = sandbox.state()
    assert state["services"] == []
    assert all(repo["packages"] == [] for repo in state["repositories"])
    assert all(b["status"] in ("SUCCESS", "CANCELLED", "FAILURE") for b in state["builds"])
    assert deployment.endpoint_url == ""


def test_a_503_on_service_creation_is_retried(api, team_token, approver, sandbox, worker):
    sandbox.add_fault(method="PATCH", path=r"/services/gemma-e2e$", status=503, times=1)
    deployment = wait_for_status(
        request_and_approve(api, team_token, approver), Status.READY, Status.FAILED
    )
    assert deployment.status == Status.READY, deployment.failure_message
    assert step_events(deployment)["deploy_service"].retries == 1
    assert len(sandbox.requests(path_regex=r"/services/gemma-e2e$", method="PATCH")) == 2


def test_permission_denied_fails_with_the_missing_role(api, team_token, approver, sandbox, worker):
    sandbox.add_fault(
        method="PATCH",
        path=r"/services/gemma-e2e$",
        status=403,
        permission="run.services.create",
        times=5,
    )
    deployment = wait_for_status(
        request_and_approve(api, team_token, approver), Status.FAILED, Status.READY
    )
    assert deployment.status == Status.FAILED
    assert deployment.failure_step == "deploy_service"
    assert "PERMISSION_DENIED" in deployment.failure_message or "403" in deployment.failure_message
    assert "run.services.create" in deployment.failure_hint
    assert "roles/run.admin" in deployment.failure_hint
    # Nothing was retried: a missing role does not fix itself.
    assert len(sandbox.requests(path_regex=r"/services/gemma-e2e$", method="PATCH")) == 1


def test_a_failed_build_says_what_happened(api, team_token, approver, sandbox, worker):
    sandbox.add_fault(kind="build_failure", message="Step #1 - build: pull access denied")
    deployment = wait_for_status(
        request_and_approve(api, team_token, approver), Status.FAILED, Status.READY
    )
    assert deployment.failure_step == "build_image"
    assert "FAILURE" in deployment.failure_message
    assert "pull access denied" in deployment.failure_message
    assert sandbox.requests(path_regex=r"/services/", method="PATCH") == []


def test_worker_killed_during_the_build_is_replaced_without_a_second_build(
    api, team_token, approver, sandbox, start_worker
):
    sandbox.config(operation_delay=4)  # a build long enough to kill the worker in the middle
    first = start_worker()
    deployment = request_and_approve(api, team_token, approver)

    def build_waiting():
        return (
            runs_of("deployment", deployment.pk)
            .filter(step="build_image", outcome=Outcome.WAITING)
            .exists()
        )

    wait_until(build_waiting, timeout=30, message="the build to be running")
    first.kill()
    sandbox.config(operation_delay=0.3)
    start_worker()  # its beat finds the stalled rollout and moves it on

    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=90)
    assert deployment.status == Status.READY, deployment.failure_message
    assert len(sandbox.requests(path_regex=r"/builds$", method="POST")) == 1
