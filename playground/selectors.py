"""Reads the playground pages share: endpoints to chat with, conversations, usage totals."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from deployments.choices import Status
from deployments.models import Deployment
from playground.models import Conversation, UsageRecord
from portal.access import teams_visible_to
from portal.exceptions import NotFound


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
