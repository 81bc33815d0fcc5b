"""The platform admins' quota page: each team's GPU quota and the project's capacity per
region, with Google's quota beside what is recorded. Writes go through quota_admin.py."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from deployments.catalog import GPU_TYPES
from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from deployments.services.google_capacity import google_capacity
from deployments.services.quota_admin import project_capacity_set, team_quota_set
from deployments.targets.gke.machines import H100
from portal.access import is_platform_admin
from portal.exceptions import ApplicationError
from portal.models import Team

GPU_CHOICES = [(g.key, g.label) for g in GPU_TYPES.values()] + [(H100, "NVIDIA H100 (80 GB), GKE")]
REGIONS = sorted({r for g in GPU_TYPES.values() if g.cloud_run for r in g.cloud_run.regions})


class TeamQuotaForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"))
    gpu_type = forms.ChoiceField(choices=GPU_CHOICES, label="GPU type")
    max_gpus = forms.IntegerField(
        min_value=0, max_value=10_000, label="GPUs", help_text="0: every request needs an admin."
    )
    reason = forms.CharField(max_length=500, required=False)


class ProjectCapacityForm(forms.Form):
    region = forms.ChoiceField(choices=[(r, r) for r in REGIONS])
    gpu_type = forms.ChoiceField(choices=GPU_CHOICES, label="GPU type")
    max_gpus = forms.IntegerField(
        min_value=0,
        max_value=100_000,
        label="GPUs",
        help_text="Overrides Google's quota for this region; none recorded: Google's is read.",
    )
    quota_name = forms.CharField(max_length=200, required=False, label="Google's quota name")
    reason = forms.CharField(max_length=500, required=False)


def _capacity_rows() -> list[dict[str, Any]]:
    """Every region and Cloud Run GPU offered, with what is recorded and what Google says."""
    recorded = {(c.region, c.gpu_type): c for c in ProjectGpuCapacity.objects.all()}
    rows = []
    for gpu in GPU_TYPES.values():
        for region in gpu.cloud_run.regions if gpu.cloud_run else ():
            rows.append(
                {
                    "region": region,
                    "gpu_type": gpu.key,
                    "recorded": recorded.pop((region, gpu.key), None),
                    "google": google_capacity(region=region, gpu_type=gpu.key),
                }
            )
    rows += [
        {"region": r, "gpu_type": g, "recorded": row, "google": None}
        for (r, g), row in sorted(recorded.items())
    ]
    return rows


def _page(request: HttpRequest, status: int = 200, **forms_given: Any) -> HttpResponse:
    context = {
        "team_quotas": TeamGpuQuota.objects.select_related("team").order_by(
            "team__name", "gpu_type"
        ),
        "capacities": _capacity_rows(),
        "team_form": forms_given.get("team_form") or TeamQuotaForm(prefix="team"),
        "project_form": forms_given.get("project_form") or ProjectCapacityForm(prefix="project"),
    }
    return render(request, "deployments/admin_quotas.html", context, status=status)


# Each form the page posts (its hidden `form` field): the form, the service that writes
# it, and what the admin is told once it has.
FORMS: dict[str, tuple[type[forms.Form], Callable[..., Any], Callable[[dict[str, Any]], str]]] = {
    "team": (
        TeamQuotaForm,
        team_quota_set,
        lambda d: f"{d['team'].name} may hold {d['max_gpus']} × {d['gpu_type']}.",
    ),
    "project": (
        ProjectCapacityForm,
        project_capacity_set,
        lambda d: f"{d['region']}: the project holds {d['max_gpus']} × {d['gpu_type']}.",
    ),
}


@login_required
@require_http_methods(["GET", "POST"])
def quotas_view(request: HttpRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins set GPU quotas.")
    if request.method == "GET":
        return _page(request)
    which = "project" if request.POST.get("form") == "project" else "team"
    form_class, write, done = FORMS[which]
    form = form_class(request.POST, prefix=which)
    if not form.is_valid():
        return _page(request, status=400, **{f"{which}_form": form})
    try:
        write(by=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _page(request, status=400, **{f"{which}_form": form})
    messages.success(request, done(form.cleaned_data))
    return redirect("deployments:quotas")
