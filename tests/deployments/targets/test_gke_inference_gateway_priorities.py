"""Issue 23 item 7 as data: the smoke test's calls and any caller of the target carry, in
`x-gateway-inference-objective` (what the pinned v1.0 endpoint picker reads), the name of
the InferenceObjective the plan applies for the model asked for; the lora-syncer gets no
Hugging Face token; the metrics token and RBAC nothing scrapes with are not made."""

from deployments.targets import TARGETS
from deployments.targets.gke_inference_gateway import plan as gig
from deployments.targets.gke_inference_gateway_adapter import plan as adapter_plan
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec
from deployments.targets.plan import DeploymentRef
from tests.deployments.targets.test_gke_inference_gateway_plan import CTX, REF, SEED

HEADER = "x-gateway-inference-objective"


def manifests(plan, kind):
    return [
        s.request.body
        for s in plan.steps
        if s.action.startswith("kube.") and (s.request.body or {}).get("kind") == kind
    ]


def test_the_smoke_tests_calls_carry_the_base_models_objective():
    plan = gig.deploy_plan(REF, SEED, CTX)
    objectives = {o["metadata"]["name"]: o for o in manifests(plan, "InferenceObjective")}
    wanted = gig.request_headers(REF, SEED, SEED.hf_model.hf_id)
    assert wanted[HEADER] in objectives  # an objective the plan applies, for this pool
    assert objectives[wanted[HEADER]]["spec"]["poolRef"]["name"] == gig.base_name(REF)
    calls = [plan.step("check_models"), plan.step("smoke_test")]
    assert [s.request.headers for s in calls] == [wanted, wanted]
    assert all(f"-H '{HEADER}: {wanted[HEADER]}'" in s.cli for s in calls)


def test_each_served_model_maps_to_its_own_objective():
    plan = gig.deploy_plan(REF, SEED, CTX)
    names = {o["metadata"]["name"] for o in manifests(plan, "InferenceObjective")}
    target = TARGETS["gke-inference-gateway"]
    asked = {target.request_headers(REF, SEED, m)[HEADER] for m in SEED.served_models}
    assert asked == names and len(names) == len(SEED.served_models)
    assert target.request_headers(REF, SEED, "") == {}  # a model list asks for no model
    # Targets without a picker send nothing of the kind.
    assert TARGETS["gke-vllm"].request_headers(REF, None, "any") == {}


def test_an_adapters_calls_carry_the_objective_its_plan_applies():
    spec = GatewayAdapterSpec(
        model="llama-3.1-8b-instruct",
        base=REF.id,
        name="sql-expert",
        source="someone/llama3.1-sql-lora-r8",
        rank=8,
        priority=5,
        base_slug=REF.slug,
        base_values=SEED.spec_json(),
    )
    own = DeploymentRef(id=12, slug="sql-lora", team_slug=REF.team_slug, attempt=1)
    plan = adapter_plan.deploy_plan(own, spec, CTX)
    (objective,) = manifests(plan, "InferenceObjective")
    headers = TARGETS["gke-inference-gateway-adapter"].request_headers(own, spec, "sql-expert")
    assert headers == {HEADER: objective["metadata"]["name"]}
    assert plan.step("smoke_test").request.headers == headers


def test_the_syncer_gets_no_token_and_vllm_does():
    deployments = manifests(gig.deploy_plan(REF, SEED, CTX), "Deployment")
    (pod,) = [
        d["spec"]["template"]["spec"]
        for d in deployments
        if d["metadata"]["name"] == gig.base_name(REF)
    ]
    (syncer,) = pod["initContainers"]
    assert syncer["name"] == "lora-adapter-syncer"
    assert [e["name"] for e in syncer["env"]] == ["DYNAMIC_LORA_ROLLOUT_CONFIG"]
    assert not [e for e in syncer["env"] if "secretKeyRef" in (e.get("valueFrom") or {})]
    (vllm,) = pod["containers"]
    assert "HUGGING_FACE_HUB_TOKEN" in [e["name"] for e in vllm["env"]]  # the gated model's


def test_no_metrics_token_or_rbac_is_made_and_old_ones_go_at_tear_down():
    deploy = gig.deploy_plan(REF, SEED, CTX)
    reader = f"{gig.base_name(REF)}-metrics-reader"
    applied = {(s.request.body or {}).get("metadata", {}).get("name", "") for s in deploy.steps}
    assert not [n for n in applied if n.startswith(reader)]
    assert not [s for s in deploy.steps if "metrics_reader" in s.key]
    teardown = gig.teardown_plan(REF, SEED, CTX)
    deleted = [s.key for s in teardown.steps if "metrics_reader" in s.key]
    assert len(deleted) == 6  # ClusterRole, binding, account, token, Role, RoleBinding
