"""gke-inference-gateway (seed 004): vLLM with LoRA adapters on a GKE Standard cluster's
H100 node pool, behind a GKE Inference Gateway that routes each request by `model` to the
base model or an adapter. Spec in spec.py (bound to a Standard cluster open to the team),
plan in plan.py (its GPU node pool in node_pools.py, the executors only its plans need in
executors.py), the pinned release and its CRDs in versions.py (README.md says why), the
seed's model server corrected in manifests.py, what the `inferencepool` chart renders for
GKE plus the objectives, Gateway and route in gateway.py, adapters in adapters.py, what
Google bills in cost.py.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from deployments.hf_catalog import vllm_needs_gib
from deployments.pricing.estimator import Estimate
from deployments.targets.base import (
    EXTERNAL_GATEWAY,
    ModelSizes,
    TargetDef,
    TargetOption,
    runs_on_its_own,
)
from deployments.targets.capabilities import no_logs
from deployments.targets.endpoint import Credential, Endpoint, Protocol
from deployments.targets.gke.machines import H100_GIB
from deployments.targets.gke_inference_gateway import cost
from deployments.targets.gke_inference_gateway.adapters import with_live_adapters
from deployments.targets.gke_inference_gateway.plan import (
    TARGET,
    deploy_plan,
    metering,
    request_headers,
    teardown_plan,
)
from deployments.targets.gke_inference_gateway.spec import (
    GkeInferenceGatewaySpec,
    bind_standard_cluster,
)
from runbook.owners import Executor

LABEL = "GKE Inference Gateway + vLLM (LoRA)"
# The wait_gateway step's output: http://ADDRESS of the Gateway's HTTP listener.
GATEWAY_URL_OUTPUT = "gateway_url"


def endpoint(spec: GkeInferenceGatewaySpec) -> Endpoint:
    return Endpoint(
        address_output=GATEWAY_URL_OUTPUT,
        protocol=Protocol.OPENAI,
        credential=Credential.GKE_GATEWAY_IN_VPC,
        served_models=spec.served_models,
        description="vLLM's OpenAI-compatible /v1 behind a regional internal GKE Gateway: "
        "`model` picks the base model or a LoRA adapter. The address is inside the "
        "cluster's VPC only.",
        access_hint="The Gateway is internal: Hangar must reach the cluster's VPC (it runs "
        "there, or GCP_VPC_HTTP_PROXY names the VPC's proxy). A 503 'no healthy upstream' "
        "means no model server pod is ready yet.",
    )


def estimate(spec: GkeInferenceGatewaySpec, prices: dict[str, Any], busy: Decimal) -> Estimate:
    return cost.estimate(prices, spec, busy)


def compare(
    sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
) -> TargetOption:
    """With `spec`, the form's own pool; without, the seed's (one a3-highgpu-2g node, one
    vLLM per H100). A model fits when its weights and a KV cache fit one H100."""
    needed = vllm_needs_gib(sizes.bf16_weights_gib)
    shape = spec if spec is not None else GkeInferenceGatewaySpec()
    fits = needed <= H100_GIB
    machine = shape.machine
    priced = cost.estimate(prices, shape, busy)
    return TargetOption(
        target=TARGET,
        label=LABEL,
        fits=fits,
        needed_gib=needed.quantize(Decimal("0.1")),
        available_gib=H100_GIB,
        hardware=f"GKE Standard, {shape.nodes} × {machine.key} node ({machine.gpus} × H100 80 GB, "
        f"billed whole), one vLLM per GPU, LoRA adapters by name",
        estimate=priced if fits else None,
        cold_start="always-on nodes: no cold start, billed around the clock",
        available_in_hangar=True,
    )


def scaling_summary(spec: GkeInferenceGatewaySpec) -> str:
    return (
        f"{spec.nodes} × {spec.machine_type} ({spec.provisioning}), {spec.replicas} vLLM pods "
        f"of 1 H100, up to {spec.max_loras} adapters on the GPU, {spec.max_cpu_loras} at hand "
        f"(rank ≤ {spec.max_lora_rank})"
    )


def own_executors() -> Mapping[str, Executor]:
    """Its node pool, the cluster check, the token's Secret and the Gateway's wait
    (executors.py), loaded by the worker only."""
    from deployments.targets.gke_inference_gateway.executors import EXECUTORS

    return EXECUTORS


GKE_INFERENCE_GATEWAY = TargetDef(
    name=TARGET,
    label=LABEL,
    spec_class=GkeInferenceGatewaySpec,
    deploy_plan=deploy_plan,
    teardown_plan=teardown_plan,
    endpoint=endpoint,
    estimate=estimate,
    compare=compare,
    scaling_summary=scaling_summary,
    form_template="deployments/new_gke_inference_gateway.html",
    initial_model="llama-3.1-8b-instruct",  # seed 004's base model
    metering=metering,
    log_sources=no_logs,
    # The Gateway is regional internal unless an approver makes it external.
    approver_allowances=frozenset({EXTERNAL_GATEWAY}),
    depends_on=runs_on_its_own,
    executors=own_executors,
    bind_team=bind_standard_cluster,
    with_live=with_live_adapters,
    request_headers=request_headers,
)
