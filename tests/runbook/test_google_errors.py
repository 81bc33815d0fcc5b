"""Google's errors as the sandbox sends them, through the real clients, read by the runner:
a rate limit is retried, an allocation quota fails with its metric, wherever it arrives."""

import time

import pytest

from deployments.plans import plan_for
from runbook.results import Failed, Retry, Waiting
from runbook.runner import run_step
from tests.factories import DeploymentFactory
from tests.runbook.test_executors import claim_for

pytestmark = pytest.mark.django_db

L4 = "run.googleapis.com/nvidia_l4_gpu_allocation_no_zonal_redundancy"


@pytest.fixture
def deploy_step(sandbox):
    return plan_for(DeploymentFactory(slug="err-demo", attempt=1)).step("deploy_service")


def test_a_rate_limited_call_is_retried(sandbox, deploy_step):
    sandbox.add_fault(method="PATCH", path="/services/err-demo$", status=429)
    result = run_step(claim_for(deploy_step))
    assert isinstance(result, Retry), result


def test_an_allocation_quota_fails_with_the_metric(sandbox, deploy_step):
    sandbox.add_fault(
        method="PATCH",
        path="/services/err-demo$",
        status=429,
        reason="RESOURCE_QUOTA_EXCEEDED",
        metric=L4,
    )
    result = run_step(claim_for(deploy_step))
    assert isinstance(result, Failed), result
    assert L4 in result.hint


def test_a_gpu_quota_in_a_failed_operation_names_the_metric(sandbox, deploy_step):
    sandbox.add_fault(
        kind="operation_error",
        method="PATCH",
        path="/services/err-demo$",
        code=8,
        message="You do not have quota for using GPUs without zonal redundancy.",
    )
    started = run_step(claim_for(deploy_step))
    assert isinstance(started, Waiting)
    deadline = time.monotonic() + 30
    result = started
    while isinstance(result, Waiting) and time.monotonic() < deadline:
        time.sleep(0.1)
        result = run_step(claim_for(deploy_step, operation=started.operation))
    assert isinstance(result, Failed), result
    assert "RESOURCE_EXHAUSTED" in result.error
    assert L4 in result.hint


def test_the_sandbox_sends_error_info_with_a_429(sandbox, deploy_step):
    import requests
    from google.auth.transport.requests import AuthorizedSession

    from gcp.clients import credentials

    sandbox.add_fault(method="GET", path="/services/err-demo$", status=429)
    reply = AuthorizedSession(credentials()).get(
        f"{sandbox.url}/v2/{deploy_step.params['name']}", timeout=10
    )
    assert isinstance(reply, requests.Response)
    [info] = reply.json()["error"]["details"]
    assert info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["metadata"]["quota_metric"] == "run.googleapis.com/requests"
