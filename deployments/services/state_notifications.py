"""Telling the requester what became of their deployment once the worker settles it.

deployment_transition() calls this after every state change, so a deployment that
becomes Ready, fails or is torn down is announced once, whichever service moved it.
Approvals and rejections are announced by decisions.py, which knows the reason given.
"""

from typing import Any

from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment
from portal.notifications import notify

# How much of Google's message goes into a notification; the page has the rest.
REASON_CHARS = 300


def deployment_state_notify(*, deployment: Deployment, to: Status, actor: Any = None) -> None:
    """Notify the requester of Ready, Failed and Torn down; not of their own tear down."""
    if to not in (Status.READY, Status.FAILED, Status.TORN_DOWN):
        return
    requester = deployment.requested_by
    subject, message = _wording(deployment, to, actor)
    if message:
        link = reverse("deployments:detail", args=[deployment.pk])
        notify(user=requester, subject=subject, message=message, link=link, team=deployment.team)


def _tear_down_asked(deployment: Deployment, actor: Any) -> tuple[Any, str]:
    """Who asked for the tear down, and why: the move to Tearing down says (a withdrawn
    request goes straight to Torn down, by its actor)."""
    asked = (
        deployment.events.filter(to_status=Status.TEARING_DOWN)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
    if asked is None:
        return actor, ""
    return asked.actor, asked.message


def _wording(deployment: Deployment, to: Status, actor: Any) -> tuple[str, str]:
    slug = deployment.slug
    if to == Status.READY:
        return f"{slug} is ready", f"{slug} is ready: chat with it in the playground."
    if to == Status.FAILED:
        reason = deployment.failure_message or "no message from Google"
        if len(reason) > REASON_CHARS:
            reason = reason[: REASON_CHARS - 1] + "…"
        return f"{slug} failed", f"{slug} failed at {deployment.failure_step or 'a step'}: {reason}"
    by, why = _tear_down_asked(deployment, actor)
    if by is not None and by.pk == deployment.requested_by_id:
        return "", ""  # they asked for it themselves
    who = f" by {by.get_username()}" if by is not None else ""
    return f"{slug} torn down", f"{slug} was torn down{who}{f': {why}' if why else ''}."
