"""The API request shape of the cloud-run-vllm target: the same request, vLLM's settings."""

from dataclasses import fields as dataclass_fields
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from deployments.api.serializers import DeploymentRequestSerializer
from deployments.choices import Target
from deployments.hf_catalog import HF_MODELS
from deployments.specs_vllm import CloudRunVllmSpec, WeightsSource

_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclass_fields(CloudRunVllmSpec)}


class VllmDeploymentRequestSerializer(DeploymentRequestSerializer):
    target = serializers.ChoiceField(choices=[Target.CLOUD_RUN_VLLM.value])
    model = serializers.ChoiceField(
        choices=sorted(HF_MODELS), help_text="Catalog key of a Hugging Face model."
    )
    cpu = serializers.IntegerField(default=_DEFAULTS["cpu"])
    memory_gib = serializers.IntegerField(default=_DEFAULTS["memory_gib"])
    concurrency = serializers.IntegerField(default=_DEFAULTS["concurrency"])
    ollama_parallel = None  # type: ignore[assignment]
    weights_source = serializers.ChoiceField(
        choices=[value for value, _ in WeightsSource.CHOICES], default=_DEFAULTS["weights_source"]
    )
    gpu_memory_utilization = serializers.DecimalField(
        max_digits=3, decimal_places=2, default=Decimal(_DEFAULTS["gpu_memory_utilization"])
    )
    max_model_len = serializers.IntegerField(required=False, allow_null=True, default=None)

    def spec_values(self) -> dict[str, Any]:
        data = self.validated_data
        return {name: data[name] for name in CloudRunVllmSpec.field_names() if name in data}


def request_serializer_class(data: Any) -> type[DeploymentRequestSerializer]:
    """Each target's request has its own fields; `target` picks which."""
    target = data.get("target") if hasattr(data, "get") else None
    if target == Target.CLOUD_RUN_VLLM.value:
        return VllmDeploymentRequestSerializer
    return DeploymentRequestSerializer
