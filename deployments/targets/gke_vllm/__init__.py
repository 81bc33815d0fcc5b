"""gke-vllm (seed 003): vLLM's OpenAI server on GKE Autopilot H100s, the weights in a
bucket read through Workload Identity, reached only through the API server's service
proxy. Spec in spec.py, plan in plan.py, the names Workload Identity derives from the
universe in identity.py, the seed's manifests (corrected) in manifests.py; what it shares
with the other GKE target (machines, fields, the team's cluster, cost) in targets/gke/.
"""

from decimal import Decimal
from typing import Any

from deployments.hf_catalog import vllm_needs_gib
from deployments.pricing.estimator import Estimate
from deployments.targets.base import ModelSizes, TargetDef, TargetOption, runs_on_its_own
from deployments.targets.endpoint import Credential, Endpoint, Protocol
from deployments.targets.gke import cost
from deployments.targets.gke.binding import bind_cluster
from deployments.targets.gke.machines import H100_GIB, MACHINES, right_sized
from deployments.targets.gke_vllm.plan import (
    TARGET,
    deploy_plan,
    log_sources,
    metering,
    teardown_plan,
)
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from runbook.plan import SERVICE_PROXY_URL_OUTPUT

LABEL = "GKE Autopilot + vLLM"


def endpoint(spec: GkeVllmSpec) -> Endpoint:
    return Endpoint(
        address_output=SERVICE_PROXY_URL_OUTPUT,
        protocol=Protocol.OPENAI,
        credential=Credential.GKE_SERVICE_PROXY_ACCESS_TOKEN,
        # --served-model-name: clients name the model by its Hugging Face id (the seed's curl).
        served_models=(spec.hf_model.hf_id,),
        reasoning=spec.hf_model.reasoning,
        description="vLLM's OpenAI-compatible /v1 (chat completions, completions, models), "
        "through the Kubernetes API server's service proxy: no load balancer, no public address.",
        access_hint="Hangar's identity calls the cluster's API server with a Google access "
        "token: it needs roles/container.developer on the project (services/proxy), and the "
        "Service must have a ready pod (a 503 'no endpoints available' means none yet).",
    )


def estimate(spec: GkeVllmSpec, prices: dict[str, Any], busy: Decimal) -> Estimate:
    return cost.estimate(
        prices, machine_type=spec.machine_type, pod_gpus=spec.gpu_count, busy_hours_per_day=busy
    )


def compare(
    sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
) -> TargetOption:
    """With `spec`, the form's own machine; without, the smallest H100 machine the model
    fits on, one pod taking all its GPUs."""
    needed = vllm_needs_gib(sizes.bf16_weights_gib)
    if spec is not None:
        machine, gpus = spec.machine, spec.gpu_count
    else:
        gpus = max(1, int(-(-needed // H100_GIB)))
        machine = right_sized(gpus, cost.machine_prices(prices)) or MACHINES["a3-highgpu-8g"]
        gpus = min(gpus, machine.gpus)
    fits = needed <= H100_GIB * gpus
    priced = cost.estimate(prices, machine_type=machine.key, pod_gpus=gpus, busy_hours_per_day=busy)
    return TargetOption(
        target=TARGET,
        label=LABEL,
        fits=fits,
        needed_gib=needed.quantize(Decimal("0.1")),
        available_gib=H100_GIB * gpus,
        hardware=f"GKE Autopilot, 1 × {machine.key} ({machine.gpus} × H100 80 GB, billed "
        f"whole), {gpus} for the pod",
        estimate=priced if fits else None,
        cold_start="always-on node: no cold start, billed around the clock",
        available_in_hangar=True,
    )


def scaling_summary(spec: GkeVllmSpec) -> str:
    return (
        f"1 pod with {spec.gpu_count} × H100 on a {spec.machine_type} node "
        f"({spec.machine.gpus} GPUs billed), max model length {spec.max_model_len}"
    )


GKE_VLLM = TargetDef(
    name=TARGET,
    label=LABEL,
    spec_class=GkeVllmSpec,
    deploy_plan=deploy_plan,
    teardown_plan=teardown_plan,
    endpoint=endpoint,
    estimate=estimate,
    compare=compare,
    scaling_summary=scaling_summary,
    form_template="deployments/new_gke_vllm.html",
    initial_model="gemma-4-26b-a4b-it",  # seed 003's first model
    metering=metering,
    log_sources=log_sources,
    approver_allowances=frozenset(),
    depends_on=runs_on_its_own,
    bind_team=bind_cluster,
)
