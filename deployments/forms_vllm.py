"""The Cloud Run + vLLM request form (seeds 001 and 002): shapes and types only.

Whether the model fits the GPU at the chosen utilisation and context length is
decided once, in CloudRunVllmSpec.errors(); the view puts its messages here.
"""

from dataclasses import MISSING, fields
from decimal import Decimal
from typing import Any

from django import forms

from deployments.choices import Target
from deployments.forms import DeploymentRequestForm, _count
from deployments.hf_catalog import HF_MODELS
from deployments.specs_vllm import (
    MAX_GPU_UTILIZATION,
    MIN_GPU_UTILIZATION,
    CloudRunVllmSpec,
    WeightsSource,
)

VLLM_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(CloudRunVllmSpec) if f.default is not MISSING
}
SEED_MODEL = "gemma-3-1b-it"  # seed 001's model


def _model_choices() -> list[tuple[str, str]]:
    return [
        (m.key, f"{m.label} ({m.hf_id}, {m.weights_gib} GiB{', gated' if m.gated else ''})")
        for m in HF_MODELS.values()
    ]


class VllmDeploymentRequestForm(DeploymentRequestForm):
    template_name_page = "deployments/new_vllm.html"

    target = forms.ChoiceField(
        choices=[(Target.CLOUD_RUN_VLLM.value, Target.CLOUD_RUN_VLLM.label)],
        widget=forms.HiddenInput,
    )
    model = forms.ChoiceField(
        choices=_model_choices,
        help_text="A Hugging Face model. Gated ones (Gemma 3) need the team's Hugging Face "
        "token, which a team admin saves once.",
    )
    ollama_parallel = None  # type: ignore[assignment]
    concurrency = _count(
        "Concurrency",
        "--concurrency: requests Cloud Run sends to one instance at once; vLLM batches them "
        "on the GPU.",
        1,
    )
    weights_source = forms.ChoiceField(
        label="Weights",
        choices=WeightsSource.CHOICES,
        widget=forms.RadioSelect,
        help_text="Baked: Cloud Build downloads the weights into the image. Bucket: Cloud "
        "Build downloads them once into a bucket that Cloud Run mounts.",
    )
    gpu_memory_utilization = forms.DecimalField(
        label="GPU memory utilisation",
        min_value=MIN_GPU_UTILIZATION,
        max_value=MAX_GPU_UTILIZATION,
        decimal_places=2,
        max_digits=3,
        help_text="--gpu-memory-utilization: the share of GPU memory vLLM takes for weights "
        "and KV cache (seed 001: 0.90).",
    )
    max_model_len = forms.IntegerField(
        label="Max model length",
        required=False,
        min_value=1,
        help_text="--max-model-len: the longest context, in tokens. Empty: the model's own. "
        "It must fit beside the weights; the form says what fits.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {**VLLM_DEFAULTS, "model": SEED_MODEL, "target": Target.CLOUD_RUN_VLLM.value},
        )
        super().__init__(*args, user=user, **kwargs)

    def service_values(self) -> dict[str, Any]:
        names = CloudRunVllmSpec.field_names()
        values = {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}
        if isinstance(values.get("gpu_memory_utilization"), Decimal):
            values["gpu_memory_utilization"] = f"{values['gpu_memory_utilization']:.2f}"
        return values


REQUEST_FORMS: dict[str, type[DeploymentRequestForm]] = {
    Target.CLOUD_RUN_OLLAMA.value: DeploymentRequestForm,
    Target.CLOUD_RUN_VLLM.value: VllmDeploymentRequestForm,
}


def request_form_class(target: str) -> type[DeploymentRequestForm]:
    """The form for a target; the Ollama form for anything else."""
    return REQUEST_FORMS.get(target, DeploymentRequestForm)
