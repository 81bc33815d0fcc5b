"""Django admin for teams: budgets, auto-approval limits and expiry go through the audited
service; memberships are edited inline."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.access import is_platform_admin
from portal.models import AuditEvent, Membership, Team
from portal.services import team_limits_update

LIMIT_FIELDS = ("monthly_budget", "auto_approve_monthly_limit", "default_ttl_hours")


class PlatformAdminOnly:
    """The portal's own rule for the admin pages platform admins use (teams, quotas, prices):
    a platform admin (portal/access.py) may view, add and change; nobody else, whatever
    Django model permissions they hold. Deleting stays off unless a page allows it."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_platform_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_admin(request.user)


class MembershipInline(PlatformAdminOnly, admin.TabularInline):
    model = Membership
    extra = 1

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_admin(request.user)  # taking someone out of a team


@admin.register(Team)
class TeamAdmin(PlatformAdminOnly, admin.ModelAdmin):
    list_display = ("name", "slug", *LIMIT_FIELDS)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        limits = {field: form.cleaned_data[field] for field in LIMIT_FIELDS}
        if change and any(field in form.changed_data for field in LIMIT_FIELDS):
            stored = Team.objects.get(pk=obj.pk)  # the values before the edit, for the audit
            super().save_model(request, obj, form, change)
            team_limits_update(team=stored, by=request.user, reason="Edited in the admin", **limits)
            return
        super().save_model(request, obj, form, change)


@admin.register(AuditEvent)
class AuditEventAdmin(PlatformAdminOnly, admin.ModelAdmin):
    """Read-only: the trail is written by the services and never edited (nor deleted:
    PlatformAdminOnly)."""

    list_display = ("created_at", "action", "actor", "object_repr", "team")
    list_filter = ("action", "team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
