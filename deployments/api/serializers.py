"""API shapes. Input serializers only parse; the services decide."""

from decimal import Decimal
from functools import cache
from typing import Any, ClassVar

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from deployments.api.money import estimate_out
from deployments.api.responses import EstimateSerializer
from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.services import dependents
from deployments.services.reasons import REASON_MAX
from deployments.services.requests import MAX_EXPIRY_HOURS
from deployments.targets import TARGETS, UnknownTarget, default_target, target_get
from deployments.targets.base import TargetDef
from deployments.targets.fields import serializer_fields
from portal.api.strict import StrictFieldsMixin
from runbook.models import Outcome


class NewDeploymentRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """What every request carries; each target's serializer adds its spec's fields."""

    target_def: ClassVar[TargetDef]

    team = serializers.SlugField(help_text="Slug of one of your teams.")
    slug = serializers.CharField(max_length=40, help_text="Name of the deployment (DNS label).")
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=4000,
        help_text="Why the team needs the GPUs.",
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
        max_value=MAX_EXPIRY_HOURS,
        default=None,
        help_text="Tear down after this long; empty: the team's default.",
    )

    def spec_values(self) -> dict[str, Any]:
        data = self.validated_data
        return {n: data[n] for n in self.target_def.spec_class.field_names() if n in data}


def _serializer_name(target: TargetDef, suffix: str) -> str:
    return "".join(part.title() for part in target.name.split("-")) + suffix


@cache
def request_serializer_for(target: TargetDef, base: type = NewDeploymentRequestSerializer) -> type:
    """`base` plus the target's own fields; `target` is the discriminator the schema names."""
    fields = serializer_fields(target.spec_class)
    fields["target"] = serializers.ChoiceField(
        choices=[target.name], help_text=f"{target.label}.", default=target.name
    )
    # The schema adds "Request" to request bodies: CloudRunOllamaNewDeploymentRequest.
    name = _serializer_name(target, base.__name__.replace("RequestSerializer", ""))
    return type(name, (base,), {"target_def": target, **fields})


def request_serializer_class(data: Any, base: type = NewDeploymentRequestSerializer) -> type:
    """Each target's request has its own fields; `target` picks which (default: the first)."""
    name = data.get("target") if hasattr(data, "get") else None
    try:
        target = target_get(name) if name is not None else default_target()
    except UnknownTarget:
        raise serializers.ValidationError(
            {"target": [f"Choose one of: {', '.join(TARGETS)}."]}
        ) from None
    return request_serializer_for(target, base)


def request_schema(base: type = NewDeploymentRequestSerializer, name: str = "NewDeployment") -> Any:
    """One request body per target in the OpenAPI schema, told apart by `target`."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers={t.name: request_serializer_for(t, base) for t in TARGETS.values()},
        resource_type_field_name="target",
    )


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REASON_MAX
    )


class ApproveSerializer(ReasonSerializer):
    external_gateway = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Serve through an external Gateway, reachable from the internet, instead "
        "of the regional internal one. Only on targets with a Gateway; only an approver "
        "sets it.",
    )


class FailureSerializer(serializers.Serializer):
    step = serializers.CharField(source="failure_step")
    message = serializers.CharField(source="failure_message")
    hint = serializers.CharField(source="failure_hint")


class DependentSerializer(serializers.Serializer):
    """A deployment that runs on another one (a LoRA adapter on its base)."""

    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(read_only=True)
    target = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)


class DeploymentSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, default=None, allow_null=True
    )
    endpoint_url = serializers.CharField(
        read_only=True, help_text="The model server's address once ready; empty until then."
    )
    failure = serializers.SerializerMethodField()
    estimate = serializers.SerializerMethodField(
        help_text="The estimate it was approved with (price table version included); "
        "money as decimal strings with two places."
    )
    depends_on = serializers.SerializerMethodField(
        help_text="The id of the deployment it runs on (a LoRA adapter's base); null for "
        "one that runs on its own."
    )
    dependents = serializers.SerializerMethodField(
        help_text="The live deployments that run on it (a base's LoRA adapters): tearing it "
        "down tears them down first."
    )

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
            "depends_on",
            "dependents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_depends_on(self, deployment: Deployment) -> int | None:
        return dependents.depends_on(deployment)

    @extend_schema_field(DependentSerializer(many=True))
    def get_dependents(self, deployment: Deployment) -> list[dict[str, Any]]:
        return [
            {"id": d.pk, "slug": d.slug, "target": d.target, "status": d.status}
            for d in dependents.live_dependents(deployment)
        ]

    @extend_schema_field(EstimateSerializer(allow_null=True))
    def get_estimate(self, deployment: Deployment) -> dict[str, Any] | None:
        return estimate_out(deployment.estimate)

    @extend_schema_field(FailureSerializer(allow_null=True))
    def get_failure(self, deployment: Deployment) -> dict[str, str] | None:
        if not deployment.failure_step:
            return None
        return dict(FailureSerializer(deployment).data)


class DeploymentEventSerializer(serializers.Serializer):
    """One row of the timeline: a state change (from, to, who) or a step's run (phase,
    step, outcome, times); the fields the other kind lacks are empty."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=["transition", "step"], read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)
    message = serializers.CharField(read_only=True)
    from_status = serializers.ChoiceField(
        choices=Status.choices, read_only=True, allow_blank=True, default=""
    )
    to_status = serializers.ChoiceField(
        choices=Status.choices, read_only=True, allow_blank=True, default=""
    )
    phase = serializers.ChoiceField(
        choices=Phase.choices, read_only=True, allow_blank=True, default=""
    )
    attempt = serializers.IntegerField(read_only=True, default=0)
    step = serializers.CharField(read_only=True, default="")
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, read_only=True, allow_blank=True, default=""
    )
    operation = serializers.CharField(read_only=True, default="")
    started_at = serializers.DateTimeField(read_only=True, default=None)
    finished_at = serializers.DateTimeField(read_only=True, default=None)
    error = serializers.CharField(read_only=True, default="")
    retries = serializers.IntegerField(read_only=True, default=0)
