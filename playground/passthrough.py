"""The OpenAI-compatible passthrough other platforms use: any OpenAI client, no Google credentials.

`/api/v1/deployments/<id>/openai/v1/{chat/completions,completions,models}` relays the
client's body to the same path on the endpoint and the endpoint's bytes back, event
by event. The only change on the way: a streamed request always asks the endpoint
for usage (so Hangar counts exactly), and the usage chunk is dropped again when the
client had not asked for it, so its client code sees what it expects.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from playground.access import Access
from playground.models import UsageRecord
from playground.protocols import Usage
from playground.replies import SSE_HEADERS, Reply, error_reply
from playground.services import Tally, estimate_tokens, usage_counts
from playground.upstream import UpstreamError, json_headers, upstream_request
from playground.usage_queue import usage_enqueue
from workers.gcp.endpoint_credentials import UpstreamCredentialError, upstream_headers

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    import aiohttp

    _Upstream = AbstractAsyncContextManager[aiohttp.ClientResponse]

ROUTES = {"chat/completions": "POST", "completions": "POST", "models": "GET"}


def _prompt_text(body: dict[str, Any]) -> str:
    if isinstance(body.get("messages"), list):
        return " ".join(str(m.get("content", "")) for m in body["messages"] if isinstance(m, dict))
    prompt = body.get("prompt", "")
    return " ".join(prompt) if isinstance(prompt, list) else str(prompt)


def _usage_of(obj: Any) -> Usage | None:
    usage = obj.get("usage") if isinstance(obj, dict) else None
    if not isinstance(usage, dict):
        return None
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def _record_later(access: Access, model: str, tally: Tally, prompt_text: str) -> None:
    counts = usage_counts(tally=tally, prompt_text=prompt_text)
    if counts is None:
        return
    prompt, completion, estimated = counts
    usage_enqueue(
        UsageRecord(
            deployment_id=access.deployment_id,
            user_id=access.user_id,
            api_token_id=access.token_id,
            source=UsageRecord.Source.API,
            model_name=model[:200],
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated=estimated,
        )
    )


async def openai_passthrough(
    *, access: Access, route: str, method: str, raw_body: bytes, started: float
) -> Reply:
    if ROUTES.get(route) != method:
        return error_reply(405, "method_not_allowed", f"Use {ROUTES.get(route)} for /v1/{route}.")
    body = _request_body(method, raw_body)
    if isinstance(body, Reply):
        return body
    streaming = bool(body.get("stream"))
    wants_usage = _ask_for_usage(body, streaming)
    opened = await _open(access, route, method, body, started)
    if isinstance(opened, Reply):
        return opened
    context, response = opened

    model = str(body.get("model") or access.default_model)
    prompt_text = _prompt_text(body)
    content_type = response.headers.get("Content-Type", "application/json")
    if not streaming or not content_type.startswith("text/event-stream"):
        data = await _read_whole(context, response)
        if method == "POST" and response.status == 200:
            _record_later(access, model, _whole_reply_tally(data), prompt_text)
        return Reply(response.status, data, content_type)

    tally = Tally()
    record = functools.partial(_record_later, access, model, tally, prompt_text)
    relay = _relay(context, response, tally, wants_usage, record)
    return Reply(200, relay, "text/event-stream", dict(SSE_HEADERS))


def _request_body(method: str, raw_body: bytes) -> dict[str, Any] | Reply:
    """The JSON object a POST carries (a GET has none), or the 400 that refuses it."""
    if method != "POST":
        return {}
    try:
        parsed = json.loads(raw_body or b"{}")
    except ValueError:
        return error_reply(400, "invalid_json", "The request body is not JSON.")
    if not isinstance(parsed, dict):
        return error_reply(400, "invalid_json", "The request body must be a JSON object.")
    return parsed


def _ask_for_usage(body: dict[str, Any], streaming: bool) -> bool:
    """Whether the client asked for the usage chunk; a stream asks the endpoint for it anyway."""
    options = body.get("stream_options")
    wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    if streaming and not wants_usage:
        body["stream_options"] = {**(options or {}), "include_usage": True}
    return wants_usage


async def _open(
    access: Access, route: str, method: str, body: dict[str, Any], started: float
) -> tuple[_Upstream, aiohttp.ClientResponse] | Reply:
    """The endpoint's open response and the context that closes it, or the error reply.

    Entered by hand rather than with `async with`: a streamed reply outlives this
    call and is closed by the relay once the client has read (or left).
    """
    try:
        credential = await upstream_headers(
            credential=access.credential, endpoint_url=access.endpoint_url
        )
        context = upstream_request(
            method=method,
            url=f"{access.endpoint_url.rstrip('/')}/v1/{route}",
            headers=json_headers(credential) if method == "POST" else credential,
            body=json.dumps(body).encode() if method == "POST" else None,
            started=started,
        )
        response = await context.__aenter__()
    except UpstreamError as exc:
        return error_reply(exc.status, exc.code, exc.message)
    except UpstreamCredentialError as exc:
        return error_reply(502, "upstream_credential", str(exc))
    return context, response


async def _read_whole(context: _Upstream, response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    finally:
        await context.__aexit__(None, None, None)


async def _relay(
    context: _Upstream,
    response: aiohttp.ClientResponse,
    tally: Tally,
    wants_usage: bool,
    record: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The endpoint's events as they come, whole events only; usage is counted on the way."""
    buffer = b""
    try:
        async for data in response.content.iter_any():
            if b"\r" in data:
                data = data.replace(b"\r\n", b"\n")
            buffer += data
            if b"\n\n" not in buffer:
                continue
            *events, buffer = buffer.split(b"\n\n")
            out = [event + b"\n\n" for event in events if _passes(event, tally, wants_usage)]
            if out:
                yield b"".join(out)
        if buffer:
            yield buffer
    finally:
        await context.__aexit__(None, None, None)
        record()


def _passes(event: bytes, tally: Tally, wants_usage: bool) -> bool:
    """Count one event into the tally; False for the usage chunk only Hangar asked for."""
    if b'"usage"' in event:
        obj = _event_json(event)
        usage = _usage_of(obj)
        if usage is not None:
            tally.usage = usage
            if not wants_usage and not obj.get("choices"):
                return False
    if event.startswith(b"data:") and b"[DONE]" not in event:
        tally.pieces += 1
    return True


def _event_json(event: bytes) -> dict[str, Any]:
    lines = event.split(b"\n")
    data = b"\n".join(line[5:].lstrip() for line in lines if line.startswith(b"data:"))
    try:
        obj = json.loads(data)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def _whole_reply_tally(data: bytes) -> Tally:
    tally = Tally()
    try:
        obj = json.loads(data)
    except ValueError:
        return tally
    tally.usage = _usage_of(obj)
    for choice in obj.get("choices") or [] if isinstance(obj, dict) else []:
        message = choice.get("message") or {}
        tally.content.append(str(message.get("content") or choice.get("text") or ""))
    if tally.usage is None and tally.text():
        tally.pieces = estimate_tokens(tally.text())
    return tally
