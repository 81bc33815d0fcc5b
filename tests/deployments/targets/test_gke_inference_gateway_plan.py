"""The gke-inference-gateway plans as data (seed 004, corrected): pinned whole, every
manifest valid against its schema or CRD, the seed's two mistakes never emitted, the
token never in the plan, tear down in reference/gke.md's order."""

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from deployments.choices import OWNER_KIND
from deployments.targets.gke_inference_gateway import plan as gig
from deployments.targets.gke_inference_gateway import versions
from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.runner import executor_for
from sandbox.kube import custom_resources as kube_crds
from sandbox.kube import gateway as kube_gateway
from sandbox.kube.resources import BY_KIND
from sandbox.kube.validation import check_rules

SNAPSHOTS = Path(__file__).parent / "snapshots"
CTX = PlanContext(
    project="proj-1",
    portal_service_account="portal@proj-1.iam.gserviceaccount.com",
    registry_repository="hangar",
    vllm_image="vllm/vllm-openai:v0.21.0",
)
REF = DeploymentRef(id=9, slug="llama-lora", team_slug="ml", attempt=1)
# What the deployment's objects are named after: its slug and its tag (gke/names.py).
NAME = gig.base_name(REF)
assert NAME == "llama-lora-647c65"
CLUSTER = "projects/proj-1/locations/us-central1/clusters/llm-std"
SEED = gig.GkeInferenceGatewaySpec(
    cluster=4, cluster_name=CLUSTER, region="us-central1", team_gpus=8
)
CASES = {
    "gke_inference_gateway_seed": SEED,
    # An external Gateway an admin allowed, Flex-start nodes, no adapters at start, a
    # higher rank.
    "gke_inference_gateway_external_flex": replace(
        SEED,
        provisioning="flex-start",
        external_gateway=True,
        starter_adapters="none",
        max_lora_rank=32,
    ),
}


@pytest.mark.parametrize("phase", ["deploy", "teardown"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_snapshot(case, phase):
    build = gig.deploy_plan if phase == "deploy" else gig.teardown_plan
    current = json.dumps(build(REF, CASES[case], CTX).as_dict(), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{case}_{phase}.json"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(current)
    assert path.exists(), f"No snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 once."
    assert current == path.read_text()


def manifests(spec: gig.GkeInferenceGatewaySpec = SEED) -> list[dict[str, Any]]:
    steps = gig.deploy_plan(REF, spec, CTX).steps
    return [s.request.body for s in steps if s.request.api == "kubernetes" and s.request.body]


def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """Every CRD the cluster has: the release's (applied by the plan), GKE's own."""
    crds = [*versions.crds(), *kube_crds.load(kube_crds.GATEWAY_API), *kube_gateway.policy_crds()]
    return {
        (kind.api_version, kind.kind): schema
        for crd in crds
        for kind, schema in kube_crds.served(crd)
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_manifest_is_valid_against_its_schema_or_crd(case):
    schemas = _crd_schemas()
    checked = set()
    for obj in manifests(CASES[case]):
        key = (obj["apiVersion"], obj["kind"])
        if key in schemas:
            problems = kube_crds.validate(schemas[key], json.loads(json.dumps(obj)))
            assert problems.undeclared == [] and problems.invalid == [], (key, problems.__dict__)
        else:
            kubernetes_validate.validate(obj, "1.34.0", strict=True)
            check_rules(BY_KIND[key], obj)  # names, pod rules: what the API server adds
        checked.add(obj["kind"])
    assert {
        "InferencePool",
        "InferenceObjective",
        "Gateway",
        "HTTPRoute",
        "HealthCheckPolicy",
        "GCPBackendPolicy",
        "CustomResourceDefinition",
        "Deployment",
        "ClusterRole",
        "ConfigMap",
        "Secret",
    } <= checked


def test_the_seeds_two_mistakes_are_never_emitted():
    objs = manifests()
    objectives = [o for o in objs if o["kind"] == "InferenceObjective"]
    assert {o["apiVersion"] for o in objectives} == {"inference.networking.x-k8s.io/v1alpha2"}
    # Each is named after its pool (the deployment's own) and the served name made safe.
    assert [o["metadata"]["name"] for o in objectives] == [
        f"{NAME}-meta-llama-llama-3-1-8b-instruct",
        f"{NAME}-food-review",
        f"{NAME}-cad-fabricator",
    ]
    assert [o["spec"]["priority"] for o in objectives] == [20, 10, 10]  # the seed's
    for obj in objs:
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        assert all("restartPolicy" not in c for c in pod["containers"])
    vllm = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == NAME)
    (syncer,) = vllm["spec"]["template"]["spec"]["initContainers"]
    assert syncer["restartPolicy"] == "Always"  # a native sidecar
    assert syncer["volumeMounts"] == [{"name": "config-volume", "mountPath": "/config"}]


def test_the_model_server_keeps_the_seeds_settings():
    vllm = next(
        o for o in manifests() if o["kind"] == "Deployment" and o["metadata"]["name"] == NAME
    )
    pod = vllm["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    args = server["args"]
    for flag, value in (("--max-loras", "2"), ("--max-cpu-loras", "12"), ("--port", "8000")):
        assert args[args.index(flag) + 1] == value
    assert "--enable-lora" in args
    assert {"name": "VLLM_ALLOW_RUNTIME_LORA_UPDATING", "value": "true"} in server["env"]
    assert server["lifecycle"] == {"preStop": {"sleep": {"seconds": 30}}}
    assert server["startupProbe"]["failureThreshold"] == 600
    assert pod["terminationGracePeriodSeconds"] == 130
    assert pod["enableServiceLinks"] is False
    assert pod["nodeSelector"]["cloud.google.com/gke-nodepool"] == f"{NAME}-gpu"
    # One pod per GPU of the pool: a3-highgpu-2g in one zone holds two (the seed asks 3).
    assert vllm["spec"]["replicas"] == 2
    assert server["image"] == versions.VLLM_IMAGE and ":latest" not in server["image"]


def test_the_token_is_named_never_carried():
    plan = gig.deploy_plan(REF, SEED, CTX)
    step = plan.step("apply_hf_token_secret")
    assert step.params["secret"] == "projects/proj-1/secrets/hangar-hf-ml"
    assert set(step.request.body) == {"apiVersion", "kind", "type", "metadata"}
    assert "data" not in step.request.body and "stringData" not in step.request.body


def test_every_step_has_its_executor_and_billing_follows_the_node_pool():
    for build in (gig.deploy_plan, gig.teardown_plan):
        plan = build(REF, SEED, CTX)
        assert all(executor_for(OWNER_KIND, s.action) for s in plan.steps)
        assert len({s.key for s in plan.steps}) == len(plan.steps)
    deploy = gig.deploy_plan(REF, SEED, CTX)
    assert [s.key for s in deploy.steps if s.billing] == ["create_node_pool"]
    # Ready once the Gateway answers: its model list, then a chat with the base model.
    assert [s.key for s in deploy.steps[-3:]] == ["wait_gateway", "check_models", "smoke_test"]


def test_tear_down_in_the_documented_order():
    keys = [s.key for s in gig.teardown_plan(REF, SEED, CTX).steps]
    order = [
        "delete_httproute",
        "delete_gateway",
        "delete_inferencepool",
        "delete_deployment_epp",
        "delete_deployment",
        "delete_secret_hf",
        "delete_node_pool",
    ]
    assert [keys.index(k) for k in order] == sorted(keys.index(k) for k in order)
    assert keys[-1] == "delete_node_pool"
    # CRDs and the team's namespace stay: other deployments may use them.
    assert not [k for k in keys if "crd" in k or "namespace" in k]
