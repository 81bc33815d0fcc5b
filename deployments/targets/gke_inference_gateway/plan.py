"""Seed 004 as a plan: Llama 3.1 8B on a GKE Standard cluster's H100 node pool, served by
vLLM with LoRA adapters behind a GKE Inference Gateway that routes by model name.

Deploy: the Inference Extension's CRDs (pinned, versions.py); the team's namespace and
GPU quota; the deployment's GPU node pool (created only once the cluster is idle:
node_pools.py); the model server (manifests.py) with the token read from the
team's Secret Manager secret at rollout; the wait for Available; what the
`inferencepool` chart renders for GKE, an InferenceObjective per model name, the Gateway
and the HTTPRoute (gateway.py); the wait for the Gateway to be Programmed with an address
and the route Accepted with its references resolved.

Tear down in the order of reference/gke.md 2.4: the HTTPRoute, the Gateway (waited until
GKE has removed its load balancer), the objectives, the pool and its picker, the model
server and its Secret, then the node pool. The CRDs, the namespace and the cluster stay:
other deployments may use them.

The spec is spec.py: its region, cluster name and the team's GPU ceiling were set when
the request was bound to its team.
"""

from dataclasses import replace
from typing import Any

from deployments.choices import Phase
from deployments.targets import kube_steps
from deployments.targets.capabilities import NodeLifetime
from deployments.targets.endpoint import openai_smoke_body
from deployments.targets.gke import names
from deployments.targets.gke_inference_gateway import gateway as gw
from deployments.targets.gke_inference_gateway import manifests, versions
from deployments.targets.gke_inference_gateway.node_pools import (
    GpuNodePool,
    check_gateway_cluster_step,
    create_node_pool_step,
    delete_node_pool_step,
)
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from deployments.targets.gke_inference_gateway.steps import (
    apply_hf_secret_step,
    call_gateway,
    wait_gateway_step,
)
from deployments.targets.gke_vllm import identity
from deployments.targets.gke_vllm import manifests as team_manifests
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext
from portal.secret_names import hf_secret_name
from runbook.plan import Step

TARGET = "gke-inference-gateway"


def _cluster_id(spec: GkeInferenceGatewaySpec) -> int:
    """A request always names its cluster; only a spec priced before one is chosen (an
    estimate, or every plan shape walked for the preflight) has none: 0, no cluster."""
    return spec.cluster or 0


def _cluster_name(spec: GkeInferenceGatewaySpec) -> str:
    """The cluster's resource name; `-` (any, as Google's list calls write it) for a spec
    not bound to a cluster yet."""
    return spec.cluster_name or f"projects/-/locations/{spec.location}/clusters/-"


# The model server's and the pool's name: unique to the deployment (gke/names.py), with
# room for the picker's `-epp` within a DNS label (it is a Service and a label value).
BASE_NAME_MAX = names.DNS_LABEL_MAX - len("-epp")


def base_name(ref: DeploymentRef) -> str:
    """What the deployment's objects are named after: its slug, cut to fit, and its tag."""
    return names.unique_name(ref, limit=BASE_NAME_MAX)


def owner_labels(ref: DeploymentRef) -> dict[str, str]:
    """The deployment's labels on what it owns (managed-by is added by manifests.meta)."""
    return {k: v for k, v in names.owner_labels(ref).items() if k != "managed-by"}


def node_pool(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> GpuNodePool:
    return GpuNodePool(
        cluster=_cluster_name(spec),
        # Cluster-wide and shared by teams: the tag keeps it apart (GKE: 40 characters).
        name=names.unique_name(ref, "gpu", limit=names.NODE_POOL_MAX),
        machine_type=spec.machine_type,
        accelerator=spec.accelerator,
        gpus_per_node=spec.gpus_per_node,
        nodes=spec.nodes,
        locations=spec.zones,
        spot=spec.spot,
        flex_start=spec.flex_start,
        labels=owner_labels(ref),
    )


def metering(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> NodeLifetime:
    """The deployment's own node pool (its create starts the billing): Google bills each
    of its nodes whole while it lives. The cluster's fee and default pool are shared by
    its tenants and stay in the estimate only."""
    return NodeLifetime(
        cluster=_cluster_id(spec),
        machine_type=spec.machine_type,
        node_pool=node_pool(ref, spec).name,
    )


def _server(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> manifests.ModelServer:
    name = base_name(ref)
    return manifests.ModelServer(
        name=name,
        namespace=identity.team_namespace(ref.team_slug),
        labels=owner_labels(ref),
        model=spec.hf_model,
        node_pool=node_pool(ref, spec).name,
        accelerator=spec.accelerator,
        replicas=spec.replicas,
        adapters=spec.adapters,
        removed=spec.removed_adapters,
        max_loras=spec.max_loras,
        max_cpu_loras=spec.max_cpu_loras,
        max_lora_rank=spec.max_lora_rank,
        hf_secret=f"{name}-hf" if spec.needs_hf_token else None,
    )


def _gateway(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> gw.InferenceGateway:
    server = _server(ref, spec)
    return gw.InferenceGateway(
        pool=server.name,
        namespace=server.namespace,
        labels=server.labels,
        selector=server.selector,
        gateway_class=gw.EXTERNAL if spec.external_gateway else gw.INTERNAL,
        legacy_names=ref.legacy_names,
    )


def objectives(spec: GkeInferenceGatewaySpec) -> list[gw.Objective]:
    """The deployment's own objectives: the base model's and its starter adapters'. Each
    adapter row makes (and owns) its own."""
    base = gw.Objective(spec.hf_model.hf_id, spec.base_priority)
    return [base, *(gw.Objective(a.name, a.priority) for a in spec.starters)]


def _key(prefix: str, ref: DeploymentRef, obj: dict[str, Any]) -> str:
    """The step's key from the object: its kind and name less the team's namespace and the
    deployment's slug, so that every deployment's plan has the same keys."""
    if obj["kind"] == "CustomResourceDefinition":
        return f"{prefix}_crd_{obj['spec']['names']['plural']}"
    name = obj["metadata"]["name"]
    for known in (f"{identity.team_namespace(ref.team_slug)}-", base_name(ref)):
        name = name[len(known) :].strip("-") if name.startswith(known) else name
    return "_".join(filter(None, (prefix, obj["kind"].lower(), name.replace("-", "_"))))[:64]


def _apply(
    ref: DeploymentRef,
    spec: GkeInferenceGatewaySpec,
    obj: dict[str, Any],
    title: str = "",
    **kw: Any,
) -> Step:
    where = obj["metadata"].get("namespace")
    step = kube_steps.apply_step(
        key=_key("apply", ref, obj),
        title=title
        or f"Apply the {obj['kind']} {obj['metadata']['name']}" + (f" in {where}" if where else ""),
        cluster=_cluster_id(spec),
        manifest=obj,
    )
    return replace(step, **kw)


def _delete(
    ref: DeploymentRef, spec: GkeInferenceGatewaySpec, obj: dict[str, Any], **kw: Any
) -> Step:
    step = kube_steps.delete_step(
        key=_key("delete", ref, obj),
        title=f"Delete the {obj['kind']} {obj['metadata']['name']} (and wait until it is gone)",
        cluster=_cluster_id(spec),
        manifest=obj,
    )
    return replace(step, **kw)


def _objects(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> dict[str, list[dict[str, Any]]]:
    server, gateway = _server(ref, spec), _gateway(ref, spec)
    return {
        # Not made any more; those of deployments rolled out before go at tear down.
        "retired": manifests.retired_metrics_rbac(server),
        "adapters": [manifests.adapters_config(server)],
        "server": [manifests.deployment(server)],
        "chart": gw.chart_objects(gateway),
        "objectives": [gw.objective(gateway, o) for o in objectives(spec)],
        "gateway": [gw.gateway(gateway)],
        "route": [gw.http_route(gateway)],
    }


def deploy_plan(
    ref: DeploymentRef, spec: GkeInferenceGatewaySpec, ctx: PlanContext
) -> DeploymentPlan:
    server, gateway, objs = _server(ref, spec), _gateway(ref, spec), _objects(ref, spec)
    ns = server.namespace
    crds = [
        _apply(
            ref,
            spec,
            crd,
            f"Install the Inference Extension's {crd['spec']['names']['kind']} "
            f"CRD ({versions.GIE_VERSION})",
        )
        for crd in versions.crds()
    ]
    team = [
        # Its key names no team: a step's key is the same for every deployment's plan.
        _apply(
            ref,
            spec,
            team_manifests.namespace(ns, ref.team_slug),
            f"The team's namespace {ns}",
            key="apply_namespace",
        ),
        _apply(
            ref,
            spec,
            team_manifests.gpu_quota(ns, ref.team_slug, spec.team_gpus),
            "The team's GPU quota, held by Kubernetes too",
        ),
    ]
    pool = [create_node_pool_step(node_pool(ref, spec), billing="starts")]
    token = []
    if server.hf_secret:
        token.append(
            apply_hf_secret_step(
                cluster=_cluster_id(spec),
                manifest=manifests.hf_token_secret(server),
                secret=hf_secret_name(ctx.project, ref.team_slug),
                key=manifests.TOKEN_KEY,
            )
        )
    model_server = [
        *token,
        _apply(ref, spec, objs["adapters"][0], "The adapters the lora-syncer loads"),
        _apply(ref, spec, objs["server"][0], "vLLM's Deployment (LoRA, native syncer sidecar)"),
        kube_steps.wait_available_step(
            cluster=_cluster_id(spec), namespace=ns, name=server.name, selector=server.selector
        ),
    ]
    picker = kube_steps.wait_available_step(
        cluster=_cluster_id(spec),
        namespace=ns,
        name=gateway.epp,
        selector={"inferencepool": gateway.epp},
    )
    inference = [
        *(_apply(ref, spec, o) for o in objs["chart"]),
        # A pool whose picker is down fails closed: no request passes until it is up.
        replace(
            picker,
            key="wait_epp_available",
            title=f"Wait for the endpoint picker {gateway.epp} to be Available",
        ),
        *(
            _apply(
                ref,
                spec,
                o,
                f"InferenceObjective {o['metadata']['name']} (priority {o['spec']['priority']})",
            )
            for o in objs["objectives"]
        ),
        _apply(
            ref,
            spec,
            objs["gateway"][0],
            f"The Gateway ({gateway.gateway_class}: needs a proxy-only subnet)",
        ),
        _apply(ref, spec, objs["route"][0], "The HTTPRoute to the InferencePool"),
        wait_gateway_step(
            cluster=_cluster_id(spec),
            namespace=ns,
            gateway=gateway.pool,
            route=gateway.pool,
            external=gateway.gateway_class == gw.EXTERNAL,
        ),
    ]
    check = [check_gateway_cluster_step(_cluster_name(spec))]
    steps = [*check, *crds, *team, *pool, *model_server, *inference, *_smoke_steps(ref, spec)]
    return DeploymentPlan(TARGET, Phase.DEPLOY, ref, tuple(steps))


def request_headers(
    ref: DeploymentRef, spec: GkeInferenceGatewaySpec, model: str
) -> dict[str, str]:
    """What a request for `model` at the deployment's Gateway carries: its objective."""
    return gw.objective_headers(_gateway(ref, spec), model)


def _smoke_steps(ref: DeploymentRef, spec: GkeInferenceGatewaySpec) -> list[Step]:
    """Through the Gateway, as the playground will call it: the route reaches vLLM (its
    model list; the HTTPRoute sends every path to the pool), then a real chat with the base
    model, routed by its name; both under the base model's objective."""
    headers = request_headers(ref, spec, spec.hf_model.hf_id)
    return [
        call_gateway(
            key="check_models",
            title="List the served models through the Gateway",
            action="endpoint.vllm_health",
            path="/v1/models",
            headers=headers,
        ),
        call_gateway(
            key="smoke_test",
            title="Chat with the base model through the Gateway",
            action="endpoint.openai_chat",
            path="/v1/chat/completions",
            body=openai_smoke_body(spec.hf_model.hf_id),
            headers=headers,
        ),
    ]


def teardown_plan(
    ref: DeploymentRef, spec: GkeInferenceGatewaySpec, ctx: PlanContext
) -> DeploymentPlan:
    """reference/gke.md 2.4: route, Gateway (its load balancer), pool and picker, model
    server, secret; then the node pool (the spend clock stops there)."""
    server, objs = _server(ref, spec), _objects(ref, spec)
    ordered = [
        *objs["route"],
        *objs["gateway"],
        *reversed(objs["objectives"]),
        *reversed(objs["chart"]),
        *objs["server"],
        *objs["adapters"],
        *([manifests.hf_token_secret(server)] if server.hf_secret else []),
        *reversed(objs["retired"]),
    ]
    deletes = [_delete(ref, spec, o) for o in ordered]
    return DeploymentPlan(
        TARGET,
        Phase.TEARDOWN,
        ref,
        (*deletes, delete_node_pool_step(node_pool(ref, spec), billing="ends")),
    )
