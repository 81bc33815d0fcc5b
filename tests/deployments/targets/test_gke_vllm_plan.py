"""The gke-vllm plans as data: every step has its executor, Workload Identity is wired end
to end, tear down goes in the issue's order."""

import json

from deployments.choices import OWNER_KIND, Phase
from deployments.hf_catalog import HF_MODELS
from deployments.targets.gke_vllm.plan import deploy_plan, teardown_plan
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.runner import executor_for

REF = DeploymentRef(id=7, slug="gemma-26b", team_slug="ml-research", attempt=1)
CTX = PlanContext(
    project="acme-llm",
    portal_service_account="p@x",
    registry_repository="r",
    universe_domain="s3nsapis.fr",
)
GEMMA_26B = HF_MODELS["gemma-4-26b-a4b-it"]
# As a request bound to its team leaves it: the cluster's region, the team's GPU ceiling.
SPEC = GkeVllmSpec(cluster=3, model=GEMMA_26B.key, region="us-central1", team_gpus=8)


def test_deploy_steps_in_order_each_with_its_executor():
    plan = deploy_plan(REF, SPEC, CTX)
    assert plan.phase == Phase.DEPLOY
    assert [s.key for s in plan.steps] == [
        "apply_namespace",
        "apply_quota",
        "ensure_service_account",
        "ensure_bucket",
        "grant_bucket_reader",
        "grant_builder_bucket_writer",
        "download_weights",
        "grant_workload_identity",
        "apply_service_account",
        "apply_compute_class",
        "apply_deployment",
        "wait_available",
        "apply_service",
        "check_health",
        "smoke_test",
    ]
    assert all(executor_for(OWNER_KIND, s.action) for s in plan.steps)
    assert [s.key for s in plan.steps if s.billing] == ["apply_deployment"]
    json.dumps(plan.as_dict())  # the approvals page and the snapshots read it as JSON


def test_workload_identity_is_wired_end_to_end():
    steps = {s.key: s for s in deploy_plan(REF, SPEC, CTX).steps}
    gsa = steps["grant_workload_identity"].params["email"]
    assert gsa.endswith("@acme-llm.s3ns.iam.gserviceaccount.com")
    assert steps["grant_bucket_reader"].params["member"] == f"serviceAccount:{gsa}"
    assert steps["grant_workload_identity"].params["member"] == (
        "serviceAccount:acme-llm.s3ns.svc.id.goog[hangar-ml-research/gemma-26b-e43219]"
    )
    ksa = steps["apply_service_account"].request.body
    assert ksa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == gsa
    pod = steps["apply_deployment"].request.body["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == ksa["metadata"]["name"]
    bucket = steps["ensure_bucket"].params["bucket"]
    assert f"--model=gs://{bucket}/google/gemma-4-26B-A4B-it" in pod["containers"][0]["args"]
    upload = steps["download_weights"].request.body["steps"][-1]["args"]
    assert upload[-1] == f"gs://{bucket}/google/gemma-4-26B-A4B-it"


def test_the_smoke_test_goes_through_the_proxy_to_the_served_name():
    steps = {s.key: s for s in deploy_plan(REF, SPEC, CTX).steps}
    smoke = steps["smoke_test"]
    assert smoke.request.path == (
        "/api/v1/namespaces/hangar-ml-research/services/gemma-26b-e43219:8080/proxy/v1/chat/completions"
    )
    assert smoke.request.body["model"] == "google/gemma-4-26B-A4B-it"


def test_tear_down_in_order_and_the_cluster_and_namespace_stay():
    plan = teardown_plan(REF, SPEC, CTX)
    assert [s.key for s in plan.steps] == [
        "cancel_build",
        "delete_service",
        "delete_deployment",
        "delete_computeclass",
        "delete_serviceaccount",
        "delete_service_account",
        "delete_bucket",
    ]
    assert all(executor_for(OWNER_KIND, s.action) for s in plan.steps)
    assert [s.key for s in plan.steps if s.billing] == ["delete_deployment"]
    assert not any("namespace" in s.key or "cluster" in s.action for s in plan.steps)
