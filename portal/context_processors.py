"""What the nav shows on every page: unread notifications, and requests awaiting a decision."""

from typing import Any

from django.http import HttpRequest

from portal.access import is_platform_admin
from portal.notifications import notifications_unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {"unread_count": notifications_unread_count(user=user)}
    if is_platform_admin(user):
        from deployments.selectors import deployment_pending_approval

        # Requests this admin may decide on: not the ones they made themselves.
        waiting = deployment_pending_approval().exclude(requested_by=user)
        context["approvals_waiting"] = waiting.count()
    return context
