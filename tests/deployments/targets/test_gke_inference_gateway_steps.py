"""The gke-inference-gateway plans run step by step through their executors against the
sandbox (the runner drives them once the target is registered): a Standard cluster as
seed 004 makes it, the node pool, the model server with the team's token, the Inference
Gateway objects, a Gateway that is never programmed without a proxy-only subnet and is
once there is one; then tear down, leaving the CRDs, the namespace and the cluster."""

import base64
import time
from datetime import UTC, datetime

import pytest
import requests

from clusters.choices import ClusterPhase
from clusters.models import Cluster
from clusters.plans import ClusterRef, cluster_plan
from deployments.choices import OWNER_KIND
from deployments.plans import plan_context_from_settings
from deployments.targets.endpoint import Credential
from deployments.targets.gke_inference_gateway import plan as gig
from deployments.targets.gke_inference_gateway.adapters import (
    AdapterAsk,
    adapter_deploy_plan,
    adapter_teardown_plan,
)
from deployments.targets.plan import DeploymentPlan, DeploymentRef
from gcp import container, endpoint, kube, secret_manager
from portal.secret_names import hf_secret_name
from runbook.plan import Step
from runbook.results import Failed, StepResult, Succeeded, Waiting
from runbook.runner import executor_for
from tests.step_claims import step_claim

pytestmark = pytest.mark.django_db

REF = DeploymentRef(id=9, slug="llama-lora", team_slug="ml", attempt=1)
# What the deployment's objects are named after: its slug and its tag (gke/names.py).
NAME = gig.base_name(REF)
assert NAME == "llama-lora-647c65"
CLUSTER = ClusterRef("hangar-sandbox", "us-central1", "llm-std", "RAPID", autopilot=False)
NS = "hangar-ml"
TOKEN = b"hf_" + b"x" * 34  # shaped like a Hugging Face token


def run(step: Step, timeout: float = 30) -> StepResult:
    """The step until it is done (Waiting polled, as the runner would), or its failure."""
    operation, started = "", datetime.now(UTC)
    deadline = time.monotonic() + timeout
    while True:
        claim = step_claim(step, operation, owner_id=REF.id, started_at=started)
        result = executor_for(OWNER_KIND, step.action)(claim)
        if isinstance(result, Succeeded | Failed):
            return result
        assert isinstance(result, Waiting), (step.key, result)
        operation = result.operation
        assert time.monotonic() < deadline, (step.key, result)
        time.sleep(0.1)


def drive(plan: DeploymentPlan, until: str = "") -> dict[str, StepResult]:
    done: dict[str, StepResult] = {}
    for step in plan.steps:
        if step.key == until:
            break
        done[step.key] = result = run(step)
        assert isinstance(result, Succeeded), (step.key, result)
    return done


@pytest.fixture
def cluster(sandbox) -> Cluster:
    create = cluster_plan(ClusterPhase.CREATE, CLUSTER).step("create_cluster")
    op = container.create_cluster(parent=CLUSTER.parent, body=create.request.body or {})
    deadline = time.monotonic() + 20
    while not container.operation_state(op).done:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    info = container.get_cluster(CLUSTER.resource_name)
    return Cluster.objects.create(
        project=CLUSTER.project,
        location=CLUSTER.location,
        name=CLUSTER.name,
        status="ready",
        endpoint=info.endpoint,
        ca_certificate=info.ca_certificate,
        autopilot=False,
    )


def test_deploy_then_tear_down(sandbox, sandbox_process, cluster):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    ctx = plan_context_from_settings()
    secret = hf_secret_name(ctx.project, REF.team_slug)
    secret_manager.ensure_secret(name=secret, labels={"managed-by": "hangar"})
    secret_manager.add_version(secret=secret, data=TOKEN)
    spec = gig.GkeInferenceGatewaySpec(
        cluster=cluster.pk, cluster_name=CLUSTER.resource_name, region="us-central1", team_gpus=8
    )
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    deploy = gig.deploy_plan(REF, spec, ctx)

    said = drive(deploy, until="wait_gateway")
    assert container.node_pool_status(f"{CLUSTER.resource_name}/nodePools/{NAME}-gpu") == "RUNNING"
    stored = kube.read(conn, "v1", "Secret", f"{NAME}-hf", NS)
    assert base64.b64decode(stored["data"]["hf_api_token"]) == TOKEN
    assert TOKEN.decode() not in said["apply_hf_token_secret"].message  # type: ignore[union-attr]
    assert TOKEN.decode() not in str(deploy.as_dict())
    # No proxy-only subnet in us-central1: the internal Gateway is never programmed, and
    # the step says what to make.
    waited = run(deploy.step("wait_gateway"))
    assert isinstance(waited, Failed)
    assert "proxy-only" in waited.error and "REGIONAL_MANAGED_PROXY" in waited.hint

    sandbox.iam(proxy_only_subnets=["us-central1"])
    served = run(deploy.step("wait_gateway"))
    assert isinstance(served, Succeeded), served
    assert served.outputs["gateway_address"].startswith("10.")
    assert served.outputs["gateway_url"] == f"http://{served.outputs['gateway_address']}"
    route = kube.read(conn, "gateway.networking.k8s.io/v1", "HTTPRoute", NAME, NS)
    assert {c["type"]: c["status"] for c in route["status"]["parents"][0]["conditions"]} == {
        "Accepted": "True",
        "ResolvedRefs": "True",
    }
    serving_through_the_gateway(sandbox_process, conn, served.outputs["gateway_address"], spec)

    drive(gig.teardown_plan(REF, spec, ctx))
    for api_version, kind in [
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("inference.networking.k8s.io/v1", "InferencePool"),
        ("apps/v1", "Deployment"),
        ("v1", "ConfigMap"),
    ]:
        assert kube.list_objects(conn, api_version, kind, NS) == []
    assert kube.read(conn, "v1", "Secret", f"{NAME}-hf", NS) is None
    assert (
        kube.read(conn, "rbac.authorization.k8s.io/v1", "ClusterRole", f"{NAME}-metrics-reader")
        is None
    )
    assert container.node_pool_status(f"{CLUSTER.resource_name}/nodePools/{NAME}-gpu") is None
    # What other deployments may use stays: the CRDs, the team's namespace, the cluster.
    assert kube.read(conn, "v1", "Namespace", NS) is not None
    crd = "inferencepools.inference.networking.k8s.io"
    assert kube.read(conn, "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)


def serving_through_the_gateway(
    sandbox_process, conn: kube.ClusterConn, address: str, spec: gig.GkeInferenceGatewaySpec
) -> None:
    """The sandbox stands in for the VPC: used as an HTTP proxy, it reaches the Gateway's
    address, which routes by `model` to the base model or a loaded adapter."""
    ctx = plan_context_from_settings()
    via = {"http": sandbox_process.url}
    base = f"http://{address}"
    listed = requests.get(f"{base}/v1/models", proxies=via, timeout=10)
    assert listed.status_code == 200, listed.text
    models = listed.json()["data"]
    assert [(m["id"], m["parent"]) for m in models] == [
        ("meta-llama/Llama-3.1-8B-Instruct", None),
        ("food-review", "meta-llama/Llama-3.1-8B-Instruct"),
        ("cad-fabricator", "meta-llama/Llama-3.1-8B-Instruct"),
    ]
    for model in ("food-review", "meta-llama/Llama-3.1-8B-Instruct"):
        chat = requests.post(
            f"{base}/v1/chat/completions",
            proxies=via,
            timeout=10,
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert chat.status_code == 200 and chat.json()["model"] == model
    missing = requests.post(
        f"{base}/v1/completions",
        proxies=via,
        timeout=10,
        json={"model": "not-loaded", "prompt": "hi"},
    )
    assert missing.status_code == 404
    # An adapter asked for loads; taking one away unloads it and deletes its objective.
    ask = AdapterAsk("sql-expert", "someone/llama3.1-sql-r8", 8, spec.hf_model.hf_id, priority=5)
    drive(adapter_deploy_plan(REF, spec, ask, ctx))
    models = requests.get(f"{base}/v1/models", proxies=via, timeout=10).json()["data"]
    assert [m["id"] for m in models][-1] == "sql-expert"
    seed = AdapterAsk("cad-fabricator", "redcathode/fabricator", 8, spec.hf_model.hf_id)
    drive(adapter_teardown_plan(REF, spec, seed, ctx))
    models = requests.get(f"{base}/v1/models", proxies=via, timeout=10).json()["data"]
    # The syncer only acts on its two lists: sql-expert, in neither now, stays loaded.
    assert [m["id"] for m in models] == [
        "meta-llama/Llama-3.1-8B-Instruct",
        "food-review",
        "sql-expert",
    ]
    objectives = kube.list_objects(
        conn, "inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", NS
    )
    assert "cad-fabricator" not in {o["metadata"]["name"] for o in objectives}


def test_an_external_gateway_is_reached_at_its_public_address(sandbox, cluster):
    """A platform admin allowed an external Gateway: it gets a public address (here one the
    sandbox made up and serves as the internet would), which the workers' client and the
    playground reach without the VPC's proxy."""
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    sandbox.iam(proxy_only_subnets=["us-central1"])  # the regional external class needs it
    ctx = plan_context_from_settings()
    secret = hf_secret_name(ctx.project, REF.team_slug)
    secret_manager.ensure_secret(name=secret, labels={"managed-by": "hangar"})
    secret_manager.add_version(secret=secret, data=TOKEN)
    spec = gig.GkeInferenceGatewaySpec(
        cluster=cluster.pk,
        cluster_name=CLUSTER.resource_name,
        region="us-central1",
        team_gpus=8,
        external_gateway=True,
    )
    deploy = gig.deploy_plan(REF, spec, ctx)
    drive(deploy, until="wait_gateway")

    served = run(deploy.step("wait_gateway"))
    assert isinstance(served, Succeeded), served
    assert served.outputs["gateway_address"].startswith("34.")
    listed = endpoint.get(
        address=served.outputs["gateway_url"],
        credential=Credential.GKE_GATEWAY_IN_VPC,
        path="/v1/models",
        timeout=10,
    )
    assert listed.status == 200, listed
    drive(gig.teardown_plan(REF, spec, ctx))
