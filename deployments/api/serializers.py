"""API shapes. Input serializers only parse; the services decide."""

from dataclasses import fields as dataclass_fields
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from deployments.catalog import GPU_TYPES, MODELS, cloud_run_regions
from deployments.choices import AVAILABLE_TARGET_VALUES
from deployments.models import Deployment, DeploymentEvent
from deployments.specs import CloudRunOllamaSpec

_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclass_fields(CloudRunOllamaSpec)}


class DeploymentRequestSerializer(serializers.Serializer):
    team = serializers.SlugField(help_text="Slug of one of your teams.")
    slug = serializers.CharField(max_length=40, help_text="Name of the deployment (DNS label).")
    target = serializers.ChoiceField(
        choices=AVAILABLE_TARGET_VALUES, default=AVAILABLE_TARGET_VALUES[0]
    )
    model = serializers.ChoiceField(choices=sorted(MODELS))
    region = serializers.ChoiceField(choices=cloud_run_regions(), default=_DEFAULTS["region"])
    gpu_type = serializers.ChoiceField(choices=sorted(GPU_TYPES), default=_DEFAULTS["gpu_type"])
    gpu_count = serializers.IntegerField(default=_DEFAULTS["gpu_count"])
    cpu = serializers.IntegerField(default=_DEFAULTS["cpu"])
    memory_gib = serializers.IntegerField(default=_DEFAULTS["memory_gib"])
    ollama_parallel = serializers.IntegerField(default=_DEFAULTS["ollama_parallel"])
    concurrency = serializers.IntegerField(default=_DEFAULTS["concurrency"])
    min_instances = serializers.IntegerField(default=_DEFAULTS["min_instances"])
    max_instances = serializers.IntegerField(default=_DEFAULTS["max_instances"])
    timeout_seconds = serializers.IntegerField(default=_DEFAULTS["timeout_seconds"])
    justification = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why the team needs the GPUs."
    )
    busy_hours_per_day = serializers.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=Decimal(0),
        max_value=Decimal(24),
        default=Decimal(8),
        help_text="Hours a day the service is expected at max instances (for the monthly cost).",
    )
    expires_in_hours = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        default=None,
        help_text="Tear down after this long; empty: the team's default.",
    )

    def spec_values(self) -> dict[str, Any]:
        data = self.validated_data
        return {name: data[name] for name in CloudRunOllamaSpec.field_names() if name in data}


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FailureSerializer(serializers.Serializer):
    step = serializers.CharField(source="failure_step")
    message = serializers.CharField(source="failure_message")
    hint = serializers.CharField(source="failure_hint")


class DeploymentSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    failure = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "slug",
            "team",
            "target",
            "model",
            "region",
            "gpu_type",
            "gpu_count",
            "spec",
            "status",
            "endpoint_url",
            "failure",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_reason",
            "attempt",
            "justification",
            "busy_hours_per_day",
            "estimate",
            "auto_approved",
            "expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_failure(self, deployment: Deployment) -> dict[str, str] | None:
        if not deployment.failure_step:
            return None
        return dict(FailureSerializer(deployment).data)


class DeploymentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = DeploymentEvent
        fields = [
            "id",
            "kind",
            "created_at",
            "actor",
            "message",
            "from_status",
            "to_status",
            "phase",
            "attempt",
            "step",
            "outcome",
            "operation",
            "started_at",
            "finished_at",
            "error",
            "retries",
        ]
        read_only_fields = fields
