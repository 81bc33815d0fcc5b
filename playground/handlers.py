"""The proxy's three entry points, whatever serves them (playground/asgi.py or Django views).

Each parses the request, checks who is calling and whether they may reach the
deployment (playground.access), takes a stream slot, and hands over to the chat
stream or the passthrough. Nothing here reads an address from the request: the
endpoint comes from the deployment row.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from gcp.endpoint_credentials import UpstreamCredentialError, upstream_headers
from playground.access import Access, access_for_session, access_for_token
from playground.chat import chat_stream
from playground.db import run_db
from playground.limits import stream_slot_acquire, stream_slot_release
from playground.passthrough import openai_passthrough
from playground.passthrough_request import json_object, passthrough_parse
from playground.protocols import ChatParams, model_names, models_path
from playground.records import conversation_unwritten
from playground.replies import SSE_HEADERS, Reply, error_reply, json_reply
from playground.selectors import conversation_continue_check
from playground.upstream import UpstreamError, read_bounded, upstream_request
from portal.exceptions import ApplicationError, ValidationFailed

MODELS_REPLY_MAX = 2**20


@dataclass(frozen=True)
class Incoming:
    method: str
    body: bytes
    session_key: str | None
    authorization: str | None


def _failure(exc: ApplicationError) -> Reply:
    return error_reply(exc.http_status, exc.code, exc.message, **exc.extra)


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationFailed(
            f"{name} must be a number from {low} to {high}.", fields={name: ["out of range"]}
        )
    return float(value)


def parse_chat(raw: bytes) -> tuple[int, int | None, ChatParams]:
    """(deployment id, conversation id, params) from the page's JSON, every field checked."""
    data = json_object(raw)
    deployment = data.get("deployment")
    conversation = data.get("conversation")
    if not isinstance(deployment, int) or isinstance(deployment, bool):
        raise ValidationFailed("Pick a deployment.", fields={"deployment": ["required"]})
    if conversation is not None and (
        not isinstance(conversation, int) or isinstance(conversation, bool)
    ):
        raise ValidationFailed("conversation must be an id.", fields={"conversation": ["invalid"]})
    messages = data.get("messages")
    ok = (
        isinstance(messages, list)
        and messages
        and all(
            isinstance(m, dict)
            and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            for m in messages
        )
        and messages[-1]["role"] == "user"
        and messages[-1]["content"].strip()
    )
    if not ok:
        raise ValidationFailed(
            "messages must be a list of user and assistant turns ending with the user's.",
            fields={"messages": ["invalid"]},
        )
    max_tokens = _number(data, "max_tokens", 1, 131072)
    system, model = data.get("system") or "", data.get("model") or ""
    if not isinstance(system, str) or not isinstance(model, str) or len(model) > 200:
        raise ValidationFailed("system and model must be text.")
    params = ChatParams(
        model=model,
        messages=[{"role": m["role"], "content": m["content"]} for m in messages],  # type: ignore[union-attr]
        system=system,
        temperature=_number(data, "temperature", 0, 2),
        top_p=_number(data, "top_p", 0, 1),
        max_tokens=int(max_tokens) if max_tokens is not None else None,
        think=bool(data.get("think")),
    )
    return deployment, conversation, params


async def chat(incoming: Incoming) -> Reply:
    """POST /playground/api/chat: the browser's chat, streamed as server-sent events."""
    started = time.monotonic()
    try:
        deployment_id, conversation_id, params = parse_chat(incoming.body)
        access = await access_for_session(incoming.session_key, deployment_id)
        if conversation_id is not None and not conversation_unwritten(
            conversation_id, access.user_id, deployment_id
        ):
            theirs = await run_db(
                conversation_continue_check,
                user_id=access.user_id,
                conversation_id=conversation_id,
                deployment_id=deployment_id,
            )
            conversation_id = conversation_id if theirs else None  # else a new one starts
        if not params.model:
            params = ChatParams(**{**params.__dict__, "model": access.default_model})
        if params.think and not access.supports_reasoning:
            params = ChatParams(**{**params.__dict__, "think": False})
        slot = await stream_slot_acquire(access.user_id)
    except ApplicationError as exc:
        return _failure(exc)
    return Reply(
        200,
        chat_stream(access=access, params=params, conversation_id=conversation_id, started=started),
        "text/event-stream",
        dict(SSE_HEADERS),
        on_close=lambda: stream_slot_release(access.user_id, slot),
    )


async def models(incoming: Incoming, deployment_id: int) -> Reply:
    """GET /playground/api/deployments/<id>/models: what the endpoint serves (LoRA adapters too)."""
    try:
        access = await access_for_session(incoming.session_key, deployment_id)
    except ApplicationError as exc:
        return _failure(exc)
    names: list[str] = []
    problem = None
    try:
        credential = await upstream_headers(
            credential=access.credential, endpoint_url=access.endpoint_url
        )
        async with upstream_request(
            method="GET",
            url=access.endpoint_url.rstrip("/") + models_path(access.protocol),
            headers=credential,
            body=None,
            started=time.monotonic(),
            ca_pem=access.ca_pem,
            refused_hint=access.access_hint,
        ) as response:
            listed = await read_bounded(response, MODELS_REPLY_MAX)
        if listed is None:
            raise ValueError("The endpoint's model list is too large.")
        names = model_names(access.protocol, json.loads(listed))
    except (UpstreamError, UpstreamCredentialError, ValueError, RecursionError) as exc:
        problem = str(exc)[:300]
    if access.default_model not in names:
        names.insert(0, access.default_model)
    return json_reply(
        200,
        {
            "models": names,
            "default": access.default_model,
            "supports_reasoning": access.supports_reasoning,
            "problem": problem,
        },
    )


async def openai(incoming: Incoming, deployment_id: int, route: str) -> Reply:
    """/api/v1/deployments/<id>/openai/v1/<route>: for OpenAI clients, with a team API token.

    Everything that can refuse the request runs before the stream slot is taken, and the
    slot goes back however the reply ends, a failure on the way included."""
    started = time.monotonic()
    slot = None
    try:
        access: Access = await access_for_token(incoming.authorization, deployment_id)
        request = passthrough_parse(route=route, method=incoming.method, raw_body=incoming.body)
        if request.streaming:
            slot = await stream_slot_acquire(access.user_id)
    except ApplicationError as exc:
        reply = _failure(exc)
        if exc.http_status == 401:
            reply.headers["WWW-Authenticate"] = "Bearer"
        return reply
    try:
        reply = await openai_passthrough(access=access, request=request, started=started)
    except BaseException:
        if slot is not None:
            await asyncio.shield(stream_slot_release(access.user_id, slot))
        raise
    if slot is not None:
        held = slot
        reply.also_on_close(lambda: stream_slot_release(access.user_id, held))
    return reply
