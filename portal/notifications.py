"""Telling people what happened to their requests: under a count in the nav, and by email."""

from functools import partial
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet

from portal.models import Membership, Notification, Team


def notify(
    *, user: Any, subject: str, message: str, link: str = "", team: Team | None = None
) -> Notification | None:
    """Store the notification now; send the email only once the decision has committed.
    News of a team's work goes only to its members: someone removed from the team hears
    nothing more of it (None)."""
    if team is not None and not Membership.objects.filter(team=team, user=user).exists():
        return None
    notification = Notification.objects.create(user=user, team=team, message=message, link=link)
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


def _shown(user: Any) -> QuerySet[Notification]:
    """The user's notifications they may still see: a team's only while they are in it."""
    return Notification.objects.filter(user=user).filter(
        Q(team__isnull=True) | Q(team__memberships__user=user)
    )


def notifications_unread_count(*, user: Any) -> int:
    return _shown(user).filter(read_at__isnull=True).count()


def notifications_recent(*, user: Any, limit: int = 50) -> list[Notification]:
    """The user's latest notifications, read or not (the page shows which were new)."""
    return list(_shown(user)[:limit])


def notifications_mark_read(*, user: Any, link: str | None = None) -> int:
    """Mark the user's unread notifications read: all of them, or (with `link`) those
    about the page at `link`, which the user has just seen for themselves."""
    from django.utils import timezone

    unread = _shown(user).filter(read_at__isnull=True)
    if link is not None:
        unread = unread.filter(link=link)
    return unread.update(read_at=timezone.now())
