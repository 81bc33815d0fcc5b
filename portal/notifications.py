"""Telling people what happened to their requests: under a count in the nav, and by email."""

from functools import partial
from typing import Any

from django.core.mail import send_mail
from django.db import transaction

from portal.models import Notification


def notify(*, user: Any, subject: str, message: str, link: str = "") -> Notification:
    """Store the notification now; send the email only once the decision has committed."""
    notification = Notification.objects.create(user=user, message=message, link=link)
    if user.email:
        transaction.on_commit(
            partial(
                send_mail,
                subject=f"[Hangar] {subject}",
                message=f"{message}\n\n{link}".strip(),
                from_email=None,
                recipient_list=[user.email],
                fail_silently=True,
            )
        )
    return notification


def notifications_unread_count(*, user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_recent(*, user: Any, limit: int = 50) -> list[Notification]:
    """The user's latest notifications, read or not (the page shows which were new)."""
    return list(Notification.objects.filter(user=user)[:limit])


def notifications_mark_read(*, user: Any) -> int:
    from django.utils import timezone

    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
