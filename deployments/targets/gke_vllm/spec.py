"""What a GKE Autopilot + vLLM deployment asks for (seed 003), and whether it can run.

Each field is declared once, with the seed's values as defaults; the form, the API and
the plan all read this class. The region, the gpu type and the team's GPU ceiling are not
asked: the region is the cluster's, the GPU is the machine's H100, and the ceiling is
the team's quota (gke/binding.py sets them when the request is bound to its team).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from deployments.hf_catalog import HF_MODELS, MIN_CONTEXT_TOKENS, hf_model_choices
from deployments.targets.fields import FieldErrors, choice_field, int_field
from deployments.targets.gke import fields as gke
from deployments.targets.gke.machines import H100, OnGpuMachine, h100s
from deployments.targets.hf_weights import HfWeights
from deployments.targets.spec import SpecBase

# Seed 003 serves these two; both need an H100's 80 GB (bf16 weights of 52 and 62 GB).
SEED_MODELS = ("gemma-4-26b-a4b-it", "gemma-4-31b-it")
# The seed's --gpu-memory-utilization.
GPU_UTILIZATION = Decimal("0.9")
# The seed's suggested --max-model-len: "to limit the context window, use 16384".
SEED_CONTEXT = 16384


@dataclass(frozen=True, kw_only=True)
class GkeVllmSpec(HfWeights, OnGpuMachine, SpecBase):
    """Seed 003's ComputeClass, Deployment and vLLM settings; defaults are the seed's."""

    RULES_NEED: ClassVar[tuple[str, ...]] = ("model", "machine_type")
    QUOTA_FIELD: ClassVar[str] = "machine_type"

    cluster: int | None = gke.cluster()
    model: str = choice_field(
        "gemma-4-26b-a4b-it",
        label="Model",
        help="Seed 003's Gemma 4 models (Apache 2.0, no token needed), loaded by vLLM from "
        "a bucket Cloud Build fills once.",
        choices=lambda: hf_model_choices(SEED_MODELS),
        choice_error="Unknown model; seed 003 serves Gemma 4 26B A4B or 31B.",
    )
    machine_type: str = gke.machine_type()
    gpu_count: int = gke.gpu_count()
    # Asked, not left to vLLM: the models' own 256K context needs more KV cache than one
    # H100 holds beside the weights, and vLLM refuses to start when it does not fit.
    max_model_len: int = int_field(
        SEED_CONTEXT,
        label="Max model length",
        help=f"the longest context, in tokens ({SEED_CONTEXT}: the seed's limit). Up to the "
        "model's 256K, if the KV cache fits beside the weights on the pod's GPUs.",
        cli="--max-model-len",
        minimum=MIN_CONTEXT_TOKENS,
        maximum=max(HF_MODELS[key].max_context for key in SEED_MODELS),
        maximum_reason="the longest context of the seed's models",
    )
    # Set when the request is bound to its team (gke/binding.py), never by a client.
    region: str = ""
    team_gpus: int = 0
    # Every machine offered is an H100 machine: what quotas and capacity are counted in.
    gpu_type: str = H100

    @property
    def gpus_held(self) -> int:
        """The node's GPUs, not the pod's: Google bills, and quotas count, the whole node."""
        return self.machine.gpus

    def fixes(self) -> dict[str, Any]:
        """The longest context that fits beside the weights on the pod's GPUs, when the one
        asked for does not: the number the refusal names, to fill in."""
        if self.gpu_count > self.machine.gpus or self.max_model_len > self.hf_model.max_context:
            return {}
        memory = self.machine.gpu_gib * self.gpu_count
        fits = self.hf_model.max_fitting_context(memory, GPU_UTILIZATION)
        if MIN_CONTEXT_TOKENS <= fits < self.max_model_len:
            return {"max_model_len": fits}
        return {}

    def rule_errors(self) -> FieldErrors:
        errors: FieldErrors = {}
        machine, model = self.machine, self.hf_model
        if self.gpu_count > machine.gpus:
            errors["gpu_count"] = [
                f"{machine.key} holds {h100s(machine.gpus)}; a pod cannot request "
                f"{self.gpu_count}. Pick a machine with more GPUs or request fewer."
            ]
            return errors
        if self.max_model_len > model.max_context:
            errors["max_model_len"] = [
                f"{model.label} takes {MIN_CONTEXT_TOKENS} to {model.max_context} tokens."
            ]
            return errors
        memory = machine.gpu_gib * self.gpu_count
        fits = model.max_fitting_context(memory, GPU_UTILIZATION)
        if fits >= self.max_model_len:
            return errors
        share = f"{GPU_UTILIZATION} of {self.gpu_count} × H100 ({memory} GB)"
        if fits < MIN_CONTEXT_TOKENS:
            errors["gpu_count"] = [
                f"{model.hf_id} needs about {model.weights_gib} GiB for its weights plus a KV "
                f"cache; {share} leaves no room for {MIN_CONTEXT_TOKENS} tokens. Request more "
                "GPUs per pod."
            ]
            return errors
        need = model.kv_cache_gib(self.max_model_len).quantize(Decimal("0.1"))
        errors["max_model_len"] = [
            f"A {self.max_model_len}-token context needs about {need} GiB of KV cache beside "
            f"{model.weights_gib} GiB of weights, more than {share} holds. Set max model "
            f"length to {fits} or less, or request more GPUs per pod."
        ]
        return errors
