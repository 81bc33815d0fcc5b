"""What a Cloud Run + vLLM deployment asks for (seeds 001 and 002), and whether it can run.

Each field is declared once, with the seeds' values as defaults; the form, the API and
the plan all read this class.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from deployments.hf_catalog import HF_MODELS, MIN_CONTEXT_TOKENS
from deployments.targets.cloud_run import fields as cloud_run
from deployments.targets.cloud_run.spec import CloudRunSpec
from deployments.targets.fields import (
    FieldErrors,
    Widget,
    choice_field,
    decimal_field,
    int_field,
)
from deployments.targets.hf_weights import HfWeights

# Below this vLLM leaves too little room to be worth a GPU; above it the CUDA
# context and activations outside vLLM's share run out of memory at start.
MIN_GPU_UTILIZATION = Decimal("0.50")
MAX_GPU_UTILIZATION = Decimal("0.95")


class WeightsSource:
    """Where the weights come from: in the image, or from a bucket mounted at run time."""

    BAKED = "baked"  # seed 001: downloaded at build time; the image runs offline
    BUCKET = "bucket"  # seed 002: downloaded once into Cloud Storage, mounted by Cloud Run
    CHOICES = (
        (BAKED, "Baked into the image: fast cold starts; a new model means a build"),
        (BUCKET, "Mounted from a bucket: swap the model without building an image"),
    )


def _model_choices() -> list[tuple[str, str]]:
    return [
        (m.key, f"{m.label} ({m.hf_id}, {m.weights_gib} GiB{', gated' if m.gated else ''})")
        for m in HF_MODELS.values()
        if m.cloud_run
    ]


@dataclass(frozen=True, kw_only=True)
class CloudRunVllmSpec(HfWeights, CloudRunSpec):
    """Seed 001's and 002's `gcloud run deploy` flags and vLLM settings; defaults are theirs."""

    RULES_NEED: ClassVar[tuple[str, ...]] = (
        "model",
        "gpu_type",
        "weights_source",
        "gpu_memory_utilization",
    )

    model: str = choice_field(
        label="Model",
        help="A Hugging Face model. Gated ones (Gemma 3) need the team's Hugging Face token, "
        "which a team admin saves once.",
        choices=_model_choices,
        choice_error="Unknown model; pick one from the catalog.",
    )
    region: str = cloud_run.region()
    gpu_type: str = cloud_run.gpu_type()
    gpu_count: int = cloud_run.gpu_count()
    # Seed 002: 4 CPU and 16 GiB are enough for the small Gemma 4 models on an L4.
    cpu: int = cloud_run.cpu(4)
    memory_gib: int = cloud_run.memory_gib(16)
    weights_source: str = choice_field(
        WeightsSource.BAKED,
        label="Weights",
        help="Baked: Cloud Build downloads the weights into the image. Bucket: Cloud Build "
        "downloads them once into a bucket that Cloud Run mounts.",
        choices=lambda: WeightsSource.CHOICES,
        choice_error="Choose baked (in the image) or bucket (mounted).",
        widget=Widget.RADIO,
    )
    gpu_memory_utilization: str = decimal_field(
        "0.90",
        label="GPU memory utilisation",
        help="the share of GPU memory vLLM takes for weights and KV cache (default 0.90).",
        cli="--gpu-memory-utilization",
        minimum=MIN_GPU_UTILIZATION,
        maximum=MAX_GPU_UTILIZATION,
        maximum_reason="vLLM takes this share of GPU memory for weights and KV cache; the rest "
        "is for CUDA itself",
    )
    max_model_len: int | None = int_field(
        None,
        label="Max model length",
        help="the longest context, in tokens. Empty: the model's own. It must fit beside the "
        "weights; the form says what fits.",
        cli="--max-model-len",
        minimum=MIN_CONTEXT_TOKENS,
        maximum=max(m.max_context for m in HF_MODELS.values() if m.cloud_run),
        maximum_reason="the longest context of any model in the catalog",
        optional=True,
    )
    # 16, not gcloud's 80 (seed 002 keeps gcloud's default): Google's GPU guidance sizes
    # concurrency to what the model server runs at once (instances x parallel queries +
    # batch, https://cloud.google.com/run/docs/configuring/services/gpu-best-practices);
    # requests beyond it queue inside vLLM, where Cloud Run cannot see them to scale out.
    # Cloud Run allows 1 to 1000 (https://cloud.google.com/run/docs/about-concurrency).
    concurrency: int = cloud_run.concurrency(
        16,
        help="requests Cloud Run sends to one instance at once; vLLM batches them on the GPU. "
        "16 rather than gcloud's 80: past what vLLM runs at once, requests wait inside vLLM "
        "where Cloud Run cannot see them to add an instance (Google's GPU guidance).",
    )
    min_instances: int = cloud_run.min_instances()
    max_instances: int = cloud_run.max_instances()
    timeout_seconds: int = cloud_run.timeout_seconds()

    @property
    def utilization(self) -> Decimal:
        return Decimal(self.gpu_memory_utilization)

    @property
    def context_tokens(self) -> int:
        """The max-model-len vLLM will run with."""
        return self.max_model_len or self.hf_model.max_context

    def engine_errors(self) -> FieldErrors:
        errors: FieldErrors = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.max_model_len is not None and self.max_model_len > self.hf_model.max_context:
            add(
                "max_model_len",
                f"{self.hf_model.label} takes {MIN_CONTEXT_TOKENS} to "
                f"{self.hf_model.max_context} tokens of context.",
            )
        else:
            self._fit_errors(add)
        return errors

    def fixes(self) -> dict[str, Any]:
        """The longest context that fits, when the one asked for (or the model's own, left
        empty) does not: the number the refusal names, to fill in."""
        if self.max_model_len is not None and self.max_model_len > self.hf_model.max_context:
            return {}
        fits = self.hf_model.max_fitting_context(self.gpu.memory_gib, self.utilization)
        if MIN_CONTEXT_TOKENS <= fits < self.context_tokens:
            return {"max_model_len": fits}
        return {}

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
