"""Django admin for what platform admins tune: quotas, capacity, prices. Writes go through
the services, so every change lands in the audit trail."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from deployments.models import PriceTable, ProjectGpuCapacity, TeamGpuQuota
from deployments.services.prices import price_table_update
from deployments.services.quota_admin import project_capacity_set, team_quota_set
from portal.admin import PlatformAdminOnly


@admin.register(TeamGpuQuota)
class TeamGpuQuotaAdmin(PlatformAdminOnly, admin.ModelAdmin):
    list_display = ("team", "gpu_type", "max_gpus")
    list_filter = ("gpu_type",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = team_quota_set(
            team=obj.team, gpu_type=obj.gpu_type, max_gpus=obj.max_gpus, by=request.user
        )
        obj.pk = saved.pk


@admin.register(ProjectGpuCapacity)
class ProjectGpuCapacityAdmin(PlatformAdminOnly, admin.ModelAdmin):
    list_display = ("region", "gpu_type", "max_gpus", "quota_name")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = project_capacity_set(
            region=obj.region,
            gpu_type=obj.gpu_type,
            max_gpus=obj.max_gpus,
            quota_name=obj.quota_name,
            by=request.user,
        )
        obj.pk = saved.pk


@admin.register(PriceTable)
class PriceTableAdmin(PlatformAdminOnly, admin.ModelAdmin):
    """New prices are a new version (add one); old ones stay with the estimates made from them."""

    list_display = ("version", "active", "created_at", "created_by")
    readonly_fields = ("active", "created_at", "created_by")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = dict(obj.data)
        data["version"] = obj.version
        saved = price_table_update(data=data, by=request.user, reason="Edited in the admin")
        obj.pk = saved.pk

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
