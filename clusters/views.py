"""The platform admins' cluster pages in the portal: the list, the register/create form,
and each cluster with its timeline, teams, retry and removal. Writes go through
clusters/services.py; the same form serves the Django admin (clusters/forms.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.choices import OWNER_KIND, ClusterStatus
from clusters.forms import ClusterAddForm, ClusterTeamsForm, ReasonForm
from clusters.models import Cluster
from clusters.services import cluster_remove, cluster_retry, cluster_teams_set
from portal.access import is_platform_admin
from portal.exceptions import ApplicationError
from runbook.ledger import runs_of

# The newest step runs shown on a cluster's page.
STEP_RUNS_SHOWN = 50


def _require_admin(request: HttpRequest) -> None:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins manage clusters.")


@login_required
@require_GET
def cluster_list_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    clusters = Cluster.objects.prefetch_related("teams").order_by("project", "location", "name")
    return render(request, "clusters/list.html", {"clusters": clusters})


@login_required
@require_http_methods(["GET", "POST"])
def cluster_new_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    if request.method == "GET":
        return render(request, "clusters/new.html", {"form": ClusterAddForm()})
    form = ClusterAddForm(request.POST)
    if not form.is_valid():
        return render(request, "clusters/new.html", {"form": form}, status=400)
    try:
        cluster = form.submit(request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return render(request, "clusters/new.html", {"form": form}, status=400)
    messages.success(request, f"{cluster.name}: {cluster.get_status_display().lower()}.")
    return redirect("clusters:detail", pk=cluster.pk)


def _detail(
    request: HttpRequest, cluster: Cluster, form: ClusterTeamsForm, status: int = 200
) -> HttpResponse:
    context = {
        "cluster": cluster,
        "events": cluster.events.select_related("actor"),
        "runs": runs_of(OWNER_KIND, cluster.pk).order_by("-created_at", "-pk")[:STEP_RUNS_SHOWN],
        "teams_form": form,
        "can_retry": cluster.status == ClusterStatus.FAILED,
    }
    return render(request, "clusters/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def cluster_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The cluster and its timeline; a POST sets the teams that may use it."""
    _require_admin(request)
    cluster = get_object_or_404(Cluster, pk=pk)
    if request.method == "GET":
        return _detail(request, cluster, ClusterTeamsForm(instance=cluster))
    form = ClusterTeamsForm(request.POST, instance=cluster)
    if not form.is_valid():
        return _detail(request, cluster, form, status=400)
    try:
        cluster_teams_set(
            cluster=cluster,
            teams=form.cleaned_data["teams"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _detail(request, cluster, form, status=400)
    messages.success(request, f"{cluster.name}: teams saved.")
    return redirect("clusters:detail", pk=cluster.pk)


def _reason(request: HttpRequest) -> str | None:
    """The reason posted with a retry or a removal; None (and said why) when it is too long."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Reason: {' '.join(str(e) for e in form.errors['reason'])}")
        return None
    return str(form.cleaned_data["reason"])


@login_required
@require_POST
def cluster_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    cluster = get_object_or_404(Cluster, pk=pk)
    reason = _reason(request)
    if reason is None:
        return redirect("clusters:detail", pk=cluster.pk)
    try:
        cluster_retry(cluster=cluster, by=request.user, reason=reason)
        messages.success(request, f"{cluster.name}: trying again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("clusters:detail", pk=cluster.pk)


@login_required
@require_POST
def cluster_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    cluster = get_object_or_404(Cluster, pk=pk)
    reason = _reason(request)
    if reason is None:
        return redirect("clusters:detail", pk=cluster.pk)
    try:
        cluster_remove(cluster=cluster, by=request.user, reason=reason or "Removed in the portal")
        messages.success(request, f"{cluster.name}: removing.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("clusters:detail", pk=cluster.pk)
