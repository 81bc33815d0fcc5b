"""Writes of the playground: a finished exchange into its conversation, and token usage.

Through the ORM, once per request, where records are not written in batches
(playground/records.py writes them on a server's loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from playground.models import Conversation, Message, UsageRecord
from playground.protocols import ChatParams, Usage


@dataclass
class Tally:
    """What came back from one streamed request, for stats and usage."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    pieces: int = 0  # chunks that carried text: about one token each on vLLM and Ollama
    usage: Usage | None = None
    finish_reason: str | None = None
    error: str | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None

    def text(self) -> str:
        return "".join(self.content)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English with the tokenizers these models use."""
    return max(1, math.ceil(len(text) / 4))


def usage_counts(
    *, tally: Tally, prompt_text: str = "", prompt_tokens: int | None = None
) -> tuple[int, int, bool] | None:
    """(prompt, completion, estimated); None when nothing was generated and nothing counted.
    Without usage from the endpoint, the prompt is `prompt_tokens` or estimated from its text."""
    if tally.usage is not None:
        return tally.usage.prompt_tokens, tally.usage.completion_tokens, False
    if tally.pieces == 0:
        return None
    prompt = prompt_tokens if prompt_tokens is not None else estimate_tokens(prompt_text)
    return prompt, tally.pieces, True


def storable(value: Any) -> Any:
    """`value` as Postgres can store it: text, and JSON, refuse NUL characters and lone
    surrogates (which a JSON string may carry as \\u0000 or \\ud800). NULs are dropped and
    lone surrogates become "?"; dicts and lists are cleaned all the way down."""
    if isinstance(value, str):
        if value.isascii():
            return value.replace("\x00", "")
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def storable_params(params: ChatParams) -> tuple[ChatParams, bool]:
    """The exchange's settings and messages as they can be stored, and whether that changed
    anything (the user is told so)."""
    cleaned = ChatParams(
        **{
            **params.__dict__,
            "model": storable(params.model),
            "system": storable(params.system),
            "messages": storable(params.messages),
        }
    )
    return cleaned, cleaned != params


def usage_record(
    *,
    deployment_id: int,
    user_id: int,
    token_id: int | None,
    source: str,
    model_name: str,
    counts: tuple[int, int, bool],
) -> UsageRecord:
    prompt, completion, estimated = counts
    return UsageRecord.objects.create(
        deployment_id=deployment_id,
        user_id=user_id,
        api_token_id=token_id,
        source=source,
        model_name=model_name[:200],
        prompt_tokens=prompt,
        completion_tokens=completion,
        estimated=estimated,
    )


def chat_exchange_record(
    *,
    user_id: int,
    deployment_id: int,
    conversation_id: int | None,
    params: ChatParams,
    reply: str,
    reasoning: str,
    stats: dict[str, Any],
    counts: tuple[int, int, bool] | None,
) -> tuple[int, int]:
    """Append the last user message and the reply to the user's conversation, or start one.

    A conversation id that is not this user's (or this deployment's) starts a new one
    rather than writing into someone else's. Returns (conversation id, reply message id).
    """
    with transaction.atomic():
        question = params.messages[-1]["content"] if params.messages else ""
        conversation = _conversation_for(
            user_id=user_id,
            deployment_id=deployment_id,
            conversation_id=conversation_id,
            params=params,
            question=question,
        )
        _, answer = Message.objects.bulk_create(
            [
                Message(conversation=conversation, role=Message.Role.USER, content=question),
                Message(
                    conversation=conversation,
                    role=Message.Role.ASSISTANT,
                    content=reply,
                    reasoning=reasoning,
                    stats=stats,
                ),
            ]
        )
        if counts is not None:
            usage_record(
                deployment_id=deployment_id,
                user_id=user_id,
                token_id=None,
                source=UsageRecord.Source.PLAYGROUND,
                model_name=params.model,
                counts=counts,
            )
    return conversation.pk, answer.pk


def _conversation_for(
    *,
    user_id: int,
    deployment_id: int,
    conversation_id: int | None,
    params: ChatParams,
    question: str,
) -> Conversation:
    """The conversation to write into, carrying the settings of this exchange.

    Filtering by user and deployment as well as id is what keeps a forged id from
    reaching someone else's conversation: it finds nothing and a new one starts.
    """
    conversation = (
        Conversation.objects.filter(
            pk=conversation_id, user_id=user_id, deployment_id=deployment_id
        ).first()
        if conversation_id
        else None
    )
    used = settings_used(params)
    if conversation is None:
        return Conversation.objects.create(
            user_id=user_id,
            deployment_id=deployment_id,
            title=conversation_title(question),
            **used,
        )
    # Settings describe the latest reply; a full save() also moves it up the list (updated_at).
    for name, value in used.items():
        setattr(conversation, name, value)
    conversation.save()
    return conversation


def conversation_title(question: str) -> str:
    return " ".join(question.split())[:80] or "New conversation"


def settings_used(params: ChatParams) -> dict[str, Any]:
    """What a conversation keeps of the exchange's settings (the latest reply's)."""
    return {
        "model_name": params.model,
        "system_prompt": params.system,
        "params": {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "think": params.think,
        },
    }
