"""cloud-run-vllm (seeds 001 and 002): vLLM's OpenAI server on a Cloud Run GPU, the weights
baked into the image or mounted from a bucket. Spec in spec.py, plan in plan.py, request
bodies in bodies.py."""

from decimal import Decimal
from typing import Any

from deployments.targets.base import ModelSizes, TargetDef, TargetOption
from deployments.targets.cloud_run import cost
from deployments.targets.cloud_run_vllm.plan import TARGET, deploy_plan, teardown_plan
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
from deployments.targets.endpoint import Credential, Endpoint, Protocol

LABEL = "Cloud Run + vLLM"
VLLM_UTILIZATION = Decimal("0.9")  # vLLM's default --gpu-memory-utilization
VLLM_OVERHEAD_GIB = Decimal("1.5")  # CUDA context and graphs outside the KV budget
MIN_KV_GIB = Decimal("1")  # a few thousand tokens of context: the least worth serving


def vllm_needs_gib(bf16_weights_gib: Decimal) -> Decimal:
    """GPU memory vLLM needs for the weights and a useful KV cache at its default share."""
    return (bf16_weights_gib + VLLM_OVERHEAD_GIB + MIN_KV_GIB) / VLLM_UTILIZATION


def endpoint(spec: CloudRunVllmSpec) -> Endpoint:
    return Endpoint(
        address_output="service_uri",
        protocol=Protocol.OPENAI,
        credential=Credential.CLOUD_RUN_ID_TOKEN,
        # --served-model-name: clients name the model by its Hugging Face id.
        served_models=(spec.hf_model.hf_id,),
        reasoning=spec.hf_model.reasoning,
        description="vLLM's OpenAI-compatible /v1 (chat completions, completions, models) is "
        "served here.",
    )


def compare(sizes: ModelSizes, prices: dict[str, Any], busy: Decimal) -> TargetOption:
    return cost.option(
        target=TARGET,
        label=LABEL,
        needed=vllm_needs_gib(sizes.bf16_weights_gib),
        sizes={"nvidia-l4": (4, 16), "nvidia-rtx-pro-6000": (20, 80)},  # seed 002
        cold_start="weights from a bucket (or baked in): slower scale-from-zero",
        prices=prices,
        busy_hours_per_day=busy,
    )


CLOUD_RUN_VLLM = TargetDef(
    name=TARGET,
    label=LABEL,
    spec_class=CloudRunVllmSpec,
    deploy_plan=deploy_plan,
    teardown_plan=teardown_plan,
    endpoint=endpoint,
    estimate=cost.estimate,
    compare=compare,
    scaling_summary=cost.scaling_summary,
    form_template="deployments/new_vllm.html",
    initial_model="gemma-3-1b-it",  # seed 001's model
)
