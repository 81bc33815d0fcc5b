"""The gke-vllm plans run step by step through their executors against the sandbox (the
runner drives them once the target is registered): deploy to a chat through the API
server's proxy, then tear down with nothing left but the cluster and the team's namespace."""

import time
from datetime import UTC, datetime

import pytest

from clusters.models import Cluster
from deployments.targets.gke_vllm.manifests import PORT
from deployments.targets.gke_vllm.plan import GkeVllmSpec, deploy_plan, server_name, teardown_plan
from deployments.targets.plan import DeploymentPlan
from gcp import kube
from runbook.executors import EXECUTORS
from runbook.plan import SERVICE_PROXY_URL_OUTPUT
from runbook.results import Failed, Retry, Succeeded, Waiting
from tests.deployments.targets.test_gke_vllm_plan import REF
from tests.step_claims import step_claim

# Its objects' name: the slug and the deployment's tag (deployments/targets/gke/names.py).
NAME = server_name(REF)

pytestmark = pytest.mark.django_db


def drive(plan: DeploymentPlan, timeout: float = 60, outputs: dict | None = None) -> dict[str, str]:
    """Each step until it succeeds: Waiting and Retry are polled, as the runner would;
    what the steps leave for later lands in `outputs`."""
    said = {}
    outputs = {} if outputs is None else outputs
    for step in plan.steps:
        operation, started = "", datetime.now(UTC)
        deadline = time.monotonic() + timeout
        while True:
            claim = step_claim(step, operation, owner_id=REF.id, started_at=started)
            result = EXECUTORS[step.action](claim)
            if isinstance(result, Succeeded):
                said[step.key] = result.message
                outputs.update(result.outputs)
                break
            assert not isinstance(result, Failed), (step.key, result)
            if isinstance(result, Waiting):
                operation = result.operation
            assert time.monotonic() < deadline, (step.key, result)
            time.sleep(0.1 if isinstance(result, Waiting | Retry) else 0)
    return said


def test_deploy_chat_and_tear_down(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    sandbox.config(operation_delay=0.3, model_load_delay=0.5)
    conn = make_conn.__wrapped__(sandbox, sandbox_process)
    cluster = Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="kube",
        status="ready",
        endpoint=conn.endpoint,
        ca_certificate=conn.ca_certificate,
    )
    from deployments.plans import plan_context_from_settings

    ctx = plan_context_from_settings()
    spec = GkeVllmSpec(cluster=cluster.pk, region="us-central1", team_gpus=8)
    outputs: dict[str, str] = {}
    said = drive(deploy_plan(REF, spec, ctx), outputs=outputs)
    assert said["smoke_test"].startswith("The model answered")
    # The endpoint's address: the Service's proxy on the API server, no load balancer.
    assert outputs[SERVICE_PROXY_URL_OUTPUT] == (
        f"https://{conn.endpoint}/api/v1/namespaces/hangar-ml-research/services/{NAME}:{PORT}/proxy"
    )
    assert said["wait_available"] == f"Deployment {NAME} is Available."
    deployed = sandbox.state()
    assert len(deployed["serviceAccounts"]) == 1
    (bucket,) = deployed["buckets"]
    assert all(name.startswith("google/gemma-4-26B-A4B-it/") for name in bucket["objects"])
    assert bucket["objects"]

    drive(teardown_plan(REF, spec, ctx))
    ns = "hangar-ml-research"
    for api_version, kind in [
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("v1", "ServiceAccount"),
    ]:
        assert kube.read(conn, api_version, kind, NAME, ns) is None
    assert kube.read(conn, "cloud.google.com/v1", "ComputeClass", NAME) is None
    assert kube.list_objects(conn, "v1", "Pod", ns) == []
    assert kube.read(conn, "v1", "Namespace", ns) is not None  # the team's: it stays
    state = sandbox.state()
    assert [a["email"] for a in state["serviceAccounts"]] == []  # the deployment's is gone
    assert state["buckets"] == []  # the weights and their bucket too
