"""The request form: shapes and types only.

Whether a request can run (VRAM, regions, concurrency against parallel slots...)
is decided once, in CloudRunOllamaSpec.errors(), which deployment_request() calls;
the view puts its messages next to these fields.
"""

from dataclasses import MISSING, fields
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from deployments.catalog import GPU_TYPES, MODELS, cloud_run_regions
from deployments.choices import AVAILABLE_TARGETS
from deployments.specs import CloudRunOllamaSpec
from portal.access import teams_where_role
from portal.models import Role, Team

# The seed's `gcloud run deploy` values, read from the spec so they live in one place.
SPEC_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(CloudRunOllamaSpec) if f.default is not MISSING
}

# Seed 000 bakes gemma3:4b into its image; the spec leaves the model to the requester.
SEED_MODEL = "gemma3-4b"


def _model_choices() -> list[tuple[str, str]]:
    return [(m.key, f"{m.label} ({m.ollama_tag})") for m in MODELS.values()]


def _gpu_choices() -> list[tuple[str, str]]:
    return [(g.key, g.label) for g in GPU_TYPES.values()]


def _count(label: str, help_text: str, min_value: int = 0) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=min_value, help_text=help_text)


DEFAULT_BUSY_HOURS = Decimal(8)


class GovernanceFieldsForm(forms.Form):
    """What every request form asks besides the target's settings: why, how busy, how long."""

    justification = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "What is it for, and for how long?"}
        ),
        help_text="Shown to the platform admin who approves the GPU spend.",
    )
    busy_hours_per_day = forms.DecimalField(
        label="Busy hours a day",
        required=False,
        initial=DEFAULT_BUSY_HOURS,
        min_value=0,
        max_value=24,
        decimal_places=1,
        help_text="Hours a day the service runs at max instances; the monthly estimate "
        "counts min instances for the rest.",
    )
    expires_in_hours = forms.IntegerField(
        label="Expires after (hours)",
        required=False,
        min_value=1,
        help_text="Torn down after this long (warned a day before). Empty: the team's default.",
    )

    def governance_values(self) -> dict[str, Any]:
        return {
            "justification": self.cleaned_data.get("justification", ""),
            "busy_hours_per_day": self.cleaned_data.get("busy_hours_per_day") or DEFAULT_BUSY_HOURS,
            "expires_in_hours": self.cleaned_data.get("expires_in_hours"),
        }


class DeploymentRequestForm(GovernanceFieldsForm):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        empty_label=None,
        help_text="Teams where you are a deployer or team admin.",
    )
    slug = forms.CharField(
        label="Name",
        max_length=40,
        help_text="Names the Cloud Run service and its image: lowercase letters, digits, hyphens.",
        widget=forms.TextInput(attrs={"placeholder": "ollama-gemma", "autocomplete": "off"}),
    )
    target = forms.ChoiceField(
        choices=[(t.value, t.label) for t in AVAILABLE_TARGETS],
        help_text="Where it runs. Cloud Run + Ollama bakes the model into the image (seed 000).",
    )
    model = forms.ChoiceField(
        choices=_model_choices,
        help_text="The Ollama tag is pulled into the image at build time, so cold starts "
        "do not download weights.",
    )
    region = forms.ChoiceField(
        choices=[(r, r) for r in cloud_run_regions()],
        help_text="--region: one where Cloud Run offers the GPU you pick.",
    )
    gpu_type = forms.ChoiceField(
        label="GPU type",
        choices=_gpu_choices,
        help_text="--gpu-type: the GPU attached to each instance.",
    )
    gpu_count = _count(
        "GPUs per instance",
        "--gpu: Cloud Run attaches one GPU to an instance; scale out with max instances.",
        min_value=1,
    )
    cpu = _count("CPUs", "--cpu: vCPUs per instance; a GPU instance needs a minimum.", 1)
    memory_gib = _count(
        "Memory (GiB)", "--memory: instance memory; a GPU instance needs a minimum.", 1
    )
    ollama_parallel = _count(
        "Ollama parallel slots",
        "OLLAMA_NUM_PARALLEL: requests Ollama serves at once. Each slot needs its own GPU "
        "memory for the context, and more slots make each request slower.",
        1,
    )
    concurrency = _count(
        "Concurrency",
        "--concurrency: requests Cloud Run sends to one instance at once. Equal to "
        "OLLAMA_NUM_PARALLEL gives the best latency; up to 2× improves GPU utilisation "
        "at the cost of requests queuing inside Ollama.",
        1,
    )
    min_instances = _count(
        "Min instances",
        "--min-instances: 0 scales to zero when idle (no GPU cost, cold starts); "
        "1 or more keeps GPUs warm and billed.",
    )
    max_instances = _count(
        "Max instances",
        "--max-instances: must be at most the project's GPU quota for this region "
        "(Total Nvidia L4 GPU allocation, per project per region).",
        1,
    )
    timeout_seconds = _count(
        "Request timeout (s)",
        "--timeout: how long one request may run; long generations need more.",
        1,
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {**SPEC_DEFAULTS, "model": SEED_MODEL, "target": AVAILABLE_TARGETS[0].value},
        )
        super().__init__(*args, **kwargs)
        team_field = cast(forms.ModelChoiceField, self.fields["team"])
        team_field.queryset = requesting_teams(user=user)

    def service_values(self) -> dict[str, Any]:
        """The spec values, as deployment_request(values=...) takes them."""
        names = CloudRunOllamaSpec.field_names()
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}

    def add_service_errors(self, fields_errors: dict[str, list[str]], message: str) -> None:
        """Put a service's ValidationFailed messages next to the fields they are about."""
        for field, messages in fields_errors.items():
            for text in messages:
                self.add_error(field if field in self.fields else None, text)
        if not fields_errors:
            self.add_error(None, message)


def requesting_teams(*, user: Any) -> QuerySet[Team]:
    """Teams the user may request in; deployment_request() checks it again."""
    return teams_where_role(user=user, role=Role.DEPLOYER)
