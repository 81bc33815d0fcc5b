"""What the nav shows platform admins on every page: how many requests await their decision."""

from typing import Any

from django.http import HttpRequest

from deployments.selectors import deployment_pending_approval
from portal.access import is_platform_admin


def approvals_waiting(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_platform_admin(user):
        return {}
    # Requests this admin may decide on: not the ones they made themselves.
    waiting = deployment_pending_approval().exclude(requested_by=user)
    return {"approvals_waiting": waiting.count()}
