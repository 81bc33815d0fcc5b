"""cloud-run-vllm (seeds 001 and 002): vLLM's OpenAI server on a Cloud Run GPU, the weights
baked into the image or mounted from a bucket. Spec in spec.py, plan in plan.py, request
bodies in bodies.py."""

from decimal import Decimal
from typing import Any

from deployments.hf_catalog import vllm_needs_gib
from deployments.targets.base import ModelSizes, TargetDef, TargetOption, runs_on_its_own
from deployments.targets.cloud_run import cost, steps
from deployments.targets.cloud_run.steps import CLOUD_RUN_ACCESS_HINT, CLOUD_RUN_ANSWER_TIME
from deployments.targets.cloud_run_vllm.plan import TARGET, deploy_plan, teardown_plan
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
from deployments.targets.endpoint import Credential, Endpoint, Protocol

LABEL = "Cloud Run + vLLM"


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
        access_hint=CLOUD_RUN_ACCESS_HINT,
        answer_time=CLOUD_RUN_ANSWER_TIME,
    )


def compare(
    sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
) -> TargetOption:
    return cost.option(
        target=TARGET,
        label=LABEL,
        needed=vllm_needs_gib(sizes.bf16_weights_gib),
        sizes={"nvidia-l4": (4, 16), "nvidia-rtx-pro-6000": (20, 80)},  # seed 002
        cold_start="weights from a bucket (or baked in): slower scale-from-zero",
        prices=prices,
        busy_hours_per_day=busy,
        spec=spec,
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
    form_template="deployments/new_cloud_run_vllm.html",
    initial_model="gemma-3-1b-it",  # seed 001's model
    metering=steps.metering,
    log_sources=steps.log_sources,
    approver_allowances=frozenset(),
    depends_on=runs_on_its_own,
)
