"""The platform admins' cluster page (Django admin): register an existing cluster or have
Hangar create one, choose which teams may use it, retry, remove. Every write goes through
clusters/services.py, so it is on the cluster's timeline and in the audit trail."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from clusters.choices import OWNER_KIND, ClusterStatus
from clusters.forms import ClusterAddForm
from clusters.models import Cluster, ClusterEvent
from clusters.services import (
    cluster_remove,
    cluster_retry,
    cluster_teams_set,
)
from portal.access import is_platform_admin
from portal.exceptions import ApplicationError
from runbook.ledger import runs_of


class ClusterEventInline(admin.TabularInline):
    model = ClusterEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "message", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "location", "status", "owned_by_hangar", "endpoint")
    list_filter = ("status", "owned_by_hangar")
    filter_horizontal = ("teams",)
    inlines = [ClusterEventInline]
    actions = ["remove", "retry"]
    readonly_fields = (
        "project",
        "location",
        "name",
        "status",
        "owned_by_hangar",
        "autopilot",
        "release_channel",
        "endpoint",
        "ca_certificate",
        "current_version",
        "workload_pool",
        "failure_step",
        "failure_message",
        "failure_hint",
        "created_by",
        "created_at",
        "steps",
    )

    @admin.display(description="Steps of its plans")
    def steps(self, obj: Cluster) -> str:
        """The runs of its plans' steps (the engine's ledger), newest first."""
        runs = runs_of(OWNER_KIND, obj.pk).order_by("-created_at", "-pk")[:50]
        return format_html_join(
            "\n",
            "<div>{} · {} {} · {} {}</div>",
            (
                (r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.phase, r.step, r.outcome, r.error)
                for r in runs
            ),
        )

    def _allowed(self, request: HttpRequest) -> bool:
        return is_platform_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removal is the "remove" action: a plan, not a row deletion

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kw["form"] = ClusterAddForm
        return super().get_form(request, obj, change=change, **kw)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ClusterAddForm.Meta.fields
        return ("teams", *self.readonly_fields)

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # only the teams change here; save_related records them
        saved = form.submit(request.user)
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            cluster_teams_set(
                cluster=form.instance,
                teams=form.cleaned_data["teams"],
                by=request.user,
                reason="Edited in the admin",
            )

    @admin.action(description="Remove: delete a Hangar-created cluster, unregister another")
    def remove(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            try:
                cluster_remove(cluster=cluster, by=request.user, reason="Removed in the admin")
            except ApplicationError as exc:
                self.message_user(request, f"{cluster.name}: {exc.message}", messages.ERROR)

    @admin.action(description="Retry the plan that failed")
    def retry(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset.filter(status=ClusterStatus.FAILED):
            try:
                cluster_retry(cluster=cluster, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{cluster.name}: {exc.message}", messages.ERROR)
