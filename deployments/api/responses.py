"""What the API answers with, for the OpenAPI schema: the estimate, the comparison, the
quota and decision preview, and the plan.

These serializers only describe; the views render the dicts the services build
(Estimate.as_json through deployments/api/money.py, QuotaCheck.as_json,
DeploymentPlan.as_dict). A client generated from the schema reads them by these names,
so each field here is one the dict has.
"""

from rest_framework import serializers

from deployments.choices import Phase
from deployments.services.google_capacity import Source

MONEY = "US dollars, a decimal string with two places."


class EstimateSerializer(serializers.Serializer):
    price_version = serializers.CharField(help_text="The price table the estimate used.")
    hourly_min = serializers.CharField(help_text=f"Cost per hour at min instances. {MONEY}")
    hourly_max = serializers.CharField(help_text=f"Cost per hour at max instances. {MONEY}")
    monthly = serializers.CharField(help_text=f"Cost of a month (730 h). {MONEY}")
    busy_hours_per_day = serializers.CharField(help_text="Hours a day at max instances.")
    lines = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[what, cost per unit] pairs that add up to the unit price.",
    )
    unit = serializers.CharField(help_text="What one line's cost is per: instance-hour, node-hour.")
    notes = serializers.CharField(allow_blank=True)
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="What the requester should know first."
    )
    suggested = serializers.DictField(
        child=serializers.CharField(),
        help_text="Spec values that would avoid the warnings: field → value.",
    )


class TargetOptionSerializer(serializers.Serializer):
    target = serializers.CharField()
    # A field named like Field.label: the metaclass takes it out of the class, so it is safe.
    label = serializers.CharField()  # type: ignore[assignment]
    fits = serializers.BooleanField(help_text="Whether the model fits the target's GPUs.")
    needed_gib = serializers.CharField(help_text="GPU memory the model needs, in GiB.")
    available_gib = serializers.IntegerField(help_text="GPU memory the target offers, in GiB.")
    hardware = serializers.CharField()
    estimate = EstimateSerializer(allow_null=True)
    cold_start = serializers.CharField()
    available_in_hangar = serializers.BooleanField()


class QuotaSerializer(serializers.Serializer):
    region = serializers.CharField()
    gpu_type = serializers.CharField()
    requested = serializers.IntegerField()
    team_quota = serializers.IntegerField()
    team_used = serializers.IntegerField()
    team_after = serializers.IntegerField()
    project_capacity = serializers.IntegerField(
        allow_null=True,
        help_text="The project's GPU capacity: recorded by an admin, else Google's quota; "
        "null when it is unknown or not checked (project_capacity_source).",
    )
    project_used = serializers.IntegerField()
    project_after = serializers.IntegerField()
    project_capacity_source = serializers.ChoiceField(
        choices=Source.ALL,
        help_text="recorded: set by a platform admin; google: read from Google's Cloud Quotas; "
        "unknown: Google's could not be read (an admin decides); untracked: Hangar reads no "
        "Google quota for this GPU type.",
    )
    project_capacity_read_at = serializers.DateTimeField(
        allow_null=True, help_text="When Google's quota was read (source google)."
    )


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="How the request would be decided.")
    reasons = serializers.ListField(child=serializers.CharField())
    projected_month = serializers.CharField(help_text=f"The team's projected month. {MONEY}")


class EstimateResponseSerializer(serializers.Serializer):
    estimate = EstimateSerializer()
    comparison = TargetOptionSerializer(many=True)
    quota = QuotaSerializer(required=False, help_text="With a team only.")
    decision = DecisionSerializer(required=False, help_text="With a team only.")


class ApiRequestSerializer(serializers.Serializer):
    api = serializers.CharField(help_text="The Google API (or kubernetes, endpoint) it goes to.")
    method = serializers.CharField()
    path = serializers.CharField()
    body = serializers.JSONField(allow_null=True)


class StepSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    action = serializers.CharField(help_text="The executor that runs it.")
    request = ApiRequestSerializer()
    cli = serializers.CharField(help_text="The same step as a gcloud or kubectl line.")
    required_role = serializers.CharField(allow_blank=True)
    params = serializers.DictField(child=serializers.JSONField())
    billing = serializers.CharField(
        allow_blank=True, help_text='"starts" or "ends" what Google bills; empty otherwise.'
    )


class PlanDeploymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    team_slug = serializers.CharField()
    attempt = serializers.IntegerField()


class PlanSerializer(serializers.Serializer):
    target = serializers.CharField()
    phase = serializers.ChoiceField(choices=Phase.choices)
    deployment = PlanDeploymentSerializer()
    steps = StepSerializer(many=True)
