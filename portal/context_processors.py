"""Unread notifications on every page, so a decision reaches its requester wherever they are."""

from typing import Any

from django.http import HttpRequest

from portal.notifications import notifications_unread


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": notifications_unread(user=user)}
