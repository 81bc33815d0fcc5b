"""Reads the playground pages share: endpoints to chat with, conversations, usage totals."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from deployments.choices import Status
from deployments.models import Deployment
from playground.models import Conversation, UsageRecord
from portal.access import teams_visible_to
from portal.exceptions import ApplicationError, NotFound


class ConversationElsewhere(ApplicationError):
    """A conversation sent to a deployment other than its own: its replies would come from
    another model, so it is refused rather than quietly switched."""

    code = "conversation_elsewhere"
    http_status = 409


def chat_targets(*, user: Any) -> QuerySet[Deployment]:
    """Ready endpoints of the user's teams (membership, not admin rights, opens the door)."""
    return (
        Deployment.objects.filter(team__in=teams_visible_to(user=user), status=Status.READY)
        .exclude(endpoint_url="")
        .select_related("team")
        .order_by("team__name", "slug")
    )


def conversation_list(*, user: Any) -> QuerySet[Conversation]:
    return Conversation.objects.filter(user=user).select_related("deployment")


def conversation_get(*, user: Any, pk: int) -> Conversation:
    conversation = conversation_list(user=user).filter(pk=pk).first()
    if conversation is None:
        raise NotFound(f"No conversation {pk} of yours.")
    return conversation


def conversation_read_only_reason(*, conversation: Conversation, user: Any) -> str:
    """Why `conversation` cannot go on, in a plain sentence naming its deployment; "" when it
    can. A conversation keeps its deployment: when that is no longer one the user can chat
    with, its messages stay readable and nothing more is sent."""
    deployment = conversation.deployment
    if chat_targets(user=user).filter(pk=deployment.pk).exists():
        return ""
    slug = deployment.slug
    if deployment.status == Status.TORN_DOWN:
        why = f"{slug}, the deployment it was held with, was torn down"
    elif deployment.status == Status.TEARING_DOWN:
        why = f"{slug}, the deployment it was held with, is being torn down"
    elif deployment.status != Status.READY or not deployment.endpoint_url:
        status = deployment.get_status_display().lower()
        why = f"{slug}, the deployment it was held with, is not ready ({status})"
    else:
        why = f"{slug}, the deployment it was held with, is no longer one of your teams'"
    return (
        f"Read-only: {why}. Its replies came from that deployment's model, so it cannot "
        "go on with another; start a new conversation to chat."
    )


def conversation_open(*, conversation: Conversation, user: Any) -> dict[str, Any]:
    """The conversation as the page reopens it: its export, and whether it can go on."""
    reason = conversation_read_only_reason(conversation=conversation, user=user)
    return {
        **conversation_export(conversation=conversation),
        "read_only": bool(reason),
        "read_only_reason": reason,
    }


def conversation_continue_check(*, user_id: int, conversation_id: int, deployment_id: int) -> bool:
    """Refuse to send the user's conversation to any deployment but its own; whether it is
    the user's on this deployment. An id that is not the user's is not refused: a new
    conversation starts instead."""
    conversation = (
        Conversation.objects.filter(pk=conversation_id, user_id=user_id)
        .select_related("deployment")
        .first()
    )
    if conversation is None:
        return False
    if conversation.deployment_id == deployment_id:
        return True
    deployment = conversation.deployment
    status = deployment.get_status_display().lower()
    raise ConversationElsewhere(
        f"This conversation belongs to {deployment.slug} ({status}); it is not continued "
        "on another deployment, whose model would answer instead. Start a new conversation.",
        extra={"conversation_deployment": deployment.pk},
    )


def conversation_export(*, conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "deployment": conversation.deployment.slug,
        "deployment_id": conversation.deployment_id,
        "model": conversation.model_name,
        "system_prompt": conversation.system_prompt,
        "params": conversation.params,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
        "messages": [
            {
                "id": m.pk,
                "role": m.role,
                "content": m.content,
                "reasoning": m.reasoning,
                "stats": m.stats,
                "created_at": m.created_at.isoformat(),
            }
            for m in conversation.messages.all()
        ],
    }


def usage_totals(*, deployment: Deployment) -> dict[str, Any]:
    """Tokens per user and API token on one deployment, with how much of it is estimated."""
    records = UsageRecord.objects.filter(deployment=deployment)
    sums = {
        "requests": Count("id"),
        "prompt_tokens": Sum("prompt_tokens"),
        "completion_tokens": Sum("completion_tokens"),
        "estimated_requests": Count("id", filter=Q(estimated=True)),
    }
    rows = (
        records.values("user__username", "api_token__name", "api_token__prefix", "source")
        .annotate(**sums)
        .order_by("-completion_tokens")
    )
    total = records.aggregate(**sums)
    return {"rows": list(rows), "total": total}
