"""What a Cloud Run + vLLM deployment asks for (seeds 001 and 002), and whether it can run.

deployments.specs registers this class for the `cloud-run-vllm` target; the form,
the API and the plan read it from there.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from deployments.catalog import GPU_TYPES
from deployments.cloud_run_rules import (
    MAX_CONCURRENCY,
    FieldErrors,
    cloud_run_instance_errors,
)
from deployments.hf_catalog import HF_MODELS, MIN_CONTEXT_TOKENS, HfModel
from deployments.spec_base import SpecBase

# Below this vLLM leaves too little room to be worth a GPU; above it the CUDA
# context and activations outside vLLM's share run out of memory at start.
MIN_GPU_UTILIZATION = Decimal("0.50")
MAX_GPU_UTILIZATION = Decimal("0.95")


class WeightsSource:
    """Where the weights come from: in the image, or from a bucket mounted at run time."""

    BAKED = "baked"  # seed 001: downloaded at build time; the image runs offline
    BUCKET = "bucket"  # seed 002: downloaded once into Cloud Storage, mounted by Cloud Run
    CHOICES = (
        (BAKED, "Baked into the image (seed 001): fast cold starts; a new model means a build"),
        (BUCKET, "Mounted from a bucket (seed 002): swap the model without building an image"),
    )


@dataclass(frozen=True)
class CloudRunVllmSpec(SpecBase):
    """Seed 001's and 002's `gcloud run deploy` flags and vLLM settings; defaults are theirs."""

    model: str
    region: str = "europe-west1"
    gpu_type: str = "nvidia-l4"
    gpu_count: int = 1
    # Seed 002: 4 CPU and 16 GiB are enough for the small Gemma 4 models on an L4.
    cpu: int = 4
    memory_gib: int = 16
    weights_source: str = WeightsSource.BAKED
    gpu_memory_utilization: str = "0.90"  # seed 001's --gpu-memory-utilization
    max_model_len: int | None = None  # None: the model's own context length
    concurrency: int = 16
    min_instances: int = 0
    max_instances: int = 1
    timeout_seconds: int = 600

    @classmethod
    def normalise(cls, values: dict[str, Any]) -> dict[str, Any]:
        picked = dict(values)
        if "gpu_memory_utilization" in picked:
            # Kept as a string so the JSON column holds exactly what was asked for.
            picked["gpu_memory_utilization"] = str(picked["gpu_memory_utilization"])
        if picked.get("max_model_len") in ("", 0):
            picked["max_model_len"] = None
        return picked

    @property
    def hf_model(self) -> HfModel:
        return HF_MODELS[self.model]

    @property
    def needs_hf_token(self) -> bool:
        return self.model in HF_MODELS and self.hf_model.gated

    @property
    def utilization(self) -> Decimal:
        return Decimal(self.gpu_memory_utilization)

    @property
    def context_tokens(self) -> int:
        """The max-model-len vLLM will run with."""
        return self.max_model_len or self.hf_model.max_context

    def errors(self) -> FieldErrors:
        """Every reason this spec cannot run, by field; empty when it can."""
        errors: FieldErrors = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.model not in HF_MODELS:
            add("model", f"Unknown model {self.model!r}; pick one from the catalog.")
        if self.gpu_type not in GPU_TYPES:
            add("gpu_type", f"Cloud Run offers no GPU called {self.gpu_type!r}.")
        if self.weights_source not in (WeightsSource.BAKED, WeightsSource.BUCKET):
            add("weights_source", "Choose baked (in the image) or bucket (mounted).")
        try:
            utilization = self.utilization
        except ArithmeticError:
            add("gpu_memory_utilization", "Give a fraction such as 0.90.")
        else:
            if not MIN_GPU_UTILIZATION <= utilization <= MAX_GPU_UTILIZATION:
                add(
                    "gpu_memory_utilization",
                    f"Use {MIN_GPU_UTILIZATION} to {MAX_GPU_UTILIZATION}: vLLM takes this share "
                    "of GPU memory for weights and KV cache; the rest is for CUDA itself.",
                )
        if errors:
            return errors

        for field, messages in cloud_run_instance_errors(self).items():
            for message in messages:
                add(field, message)
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            add("concurrency", f"Concurrency must be between 1 and {MAX_CONCURRENCY}.")
        if self.max_model_len is not None and not (
            MIN_CONTEXT_TOKENS <= self.max_model_len <= self.hf_model.max_context
        ):
            add(
                "max_model_len",
                f"{self.hf_model.label} takes {MIN_CONTEXT_TOKENS} to "
                f"{self.hf_model.max_context} tokens of context.",
            )
        elif "gpu_memory_utilization" not in errors:
            self._fit_errors(add)
        return errors

    def _fit_errors(self, add: Any) -> None:
        """vLLM refuses to start unless the weights and one full-length sequence fit."""
        model, gpu = self.hf_model, self.gpu
        fits = model.max_fitting_context(gpu.memory_gib, self.utilization)
        if fits >= self.context_tokens:
            return
        share = f"{self.gpu_memory_utilization} of an {gpu.label}"
        if fits < MIN_CONTEXT_TOKENS:
            add(
                "model",
                f"{model.hf_id} needs about {model.weights_gib} GiB for its weights plus a "
                f"KV cache; {share} leaves no room for even {MIN_CONTEXT_TOKENS} tokens of "
                "context. Use a smaller model or a larger GPU.",
            )
            return
        need = model.kv_cache_gib(self.context_tokens).quantize(Decimal("0.1"))
        add(
            "max_model_len",
            f"A {self.context_tokens}-token context needs about {need} GiB of KV cache beside "
            f"{model.weights_gib} GiB of weights, more than {share} holds. Set max model "
            f"length to {fits} or less.",
        )
