"""cloud-run-ollama (seed 000): Ollama with the model baked into the image, on a Cloud Run
GPU. The spec is in spec.py, the plan and its request bodies in plan.py."""

from decimal import Decimal
from typing import Any

from deployments.targets.base import ModelSizes, TargetDef, TargetOption, runs_on_its_own
from deployments.targets.cloud_run import cost, steps
from deployments.targets.cloud_run.steps import CLOUD_RUN_ACCESS_HINT, CLOUD_RUN_ANSWER_TIME
from deployments.targets.cloud_run_ollama.plan import TARGET, deploy_plan, teardown_plan
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from deployments.targets.endpoint import Credential, Endpoint, Protocol

LABEL = "Cloud Run + Ollama"


def endpoint(spec: CloudRunOllamaSpec) -> Endpoint:
    return Endpoint(
        address_output="service_uri",
        protocol=Protocol.OLLAMA,
        credential=Credential.CLOUD_RUN_ID_TOKEN,
        served_models=(spec.catalog_model.ollama_tag,),
        reasoning=spec.catalog_model.reasoning,
        description="Ollama's /api/chat, /api/generate and OpenAI-compatible /v1 are served here.",
        access_hint=CLOUD_RUN_ACCESS_HINT,
        answer_time=CLOUD_RUN_ANSWER_TIME,
    )


def compare(
    sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
) -> TargetOption | None:
    if sizes.ollama_gib is None:
        return None
    return cost.option(
        target=TARGET,
        label=LABEL,
        needed=sizes.ollama_gib,
        sizes={"nvidia-l4": (8, 32), "nvidia-rtx-pro-6000": (20, 80)},  # seed 000
        cold_start="weights in the image: fastest scale-from-zero on Cloud Run",
        prices=prices,
        busy_hours_per_day=busy,
        spec=spec,
    )


def scaling_summary(spec: CloudRunOllamaSpec) -> str:
    return f"{cost.scaling_summary(spec)}, {spec.ollama_parallel} Ollama slots"


CLOUD_RUN_OLLAMA = TargetDef(
    name=TARGET,
    label=LABEL,
    spec_class=CloudRunOllamaSpec,
    deploy_plan=deploy_plan,
    teardown_plan=teardown_plan,
    endpoint=endpoint,
    estimate=cost.estimate,
    compare=compare,
    scaling_summary=scaling_summary,
    form_template="deployments/new_cloud_run_ollama.html",
    initial_model="gemma3-4b",  # the model seed 000 bakes into its image
    metering=steps.metering,
    log_sources=steps.log_sources,
    approver_allowances=frozenset(),
    depends_on=runs_on_its_own,
)
