"""What the nav shows on every page: unread notifications (requests awaiting a decision:
deployments/context_processors.py)."""

from typing import Any

from django.http import HttpRequest

from portal.notifications import notifications_unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": notifications_unread_count(user=user)}
