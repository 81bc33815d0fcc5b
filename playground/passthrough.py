"""The OpenAI-compatible passthrough other platforms use: any OpenAI client, no Google credentials.

`/api/v1/deployments/<id>/openai/v1/{chat/completions,completions,models}` relays the
client's body to the same path on the endpoint and the endpoint's bytes back, event
by event. The only change on the way: a streamed request always asks the endpoint
for usage (so Hangar counts exactly), and the usage chunk is dropped again when the
client had not asked for it, so its client code sees what it expects. The request is
parsed (and refused) before this runs: playground/passthrough_request.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from gcp.endpoint_credentials import UpstreamCredentialError, upstream_headers
from playground.access import Access
from playground.models import UsageRecord
from playground.passthrough_request import PassthroughRequest
from playground.protocols import SseEvents, Usage, sse_data, token_count
from playground.records import CHECKPOINT_SECONDS, UsageRow, now_iso, usage_keep
from playground.replies import SSE_HEADERS, Reply, error_reply
from playground.services import Tally, estimate_tokens, storable, usage_counts
from playground.upstream import UpstreamError, json_headers, read_bounded, upstream_request

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    import aiohttp

    _Upstream = AbstractAsyncContextManager[aiohttp.ClientResponse]

# A whole (not streamed) reply larger than this is not a chat reply; it is refused.
WHOLE_REPLY_MAX = 16 * 2**20


def _usage_of(obj: Any) -> Usage | None:
    usage = obj.get("usage") if isinstance(obj, dict) else None
    if not isinstance(usage, dict):
        return None
    return Usage(
        token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
    )


async def _keep_usage(
    access: Access,
    request: PassthroughRequest,
    tally: Tally,
    usage_id: int | None = None,
    *,
    final: bool = True,
) -> int | None:
    """Keep the request's usage (None: nothing to count yet); its record's id."""
    counts = usage_counts(tally=tally, prompt_tokens=request.prompt_tokens)
    if counts is None:
        return usage_id
    prompt, completion, estimated = counts

    def usage(usage_id: int) -> UsageRow:
        return UsageRow(
            id=usage_id,
            deployment=access.deployment_id,
            user=access.user_id,
            token=access.token_id,
            source=UsageRecord.Source.API,
            # One record Postgres refuses would lose the batch it is written with.
            model=storable(request.model or access.default_model)[:200],
            prompt=prompt,
            completion=completion,
            estimated=estimated,
            at=now_iso(),
        )

    return await usage_keep(usage, usage_id, final=final)


async def openai_passthrough(
    *, access: Access, request: PassthroughRequest, started: float
) -> Reply:
    opened = await _open(access, request, started)
    if isinstance(opened, Reply):
        return opened
    context, response = opened
    content_type = response.headers.get("Content-Type", "application/json")
    if not request.streaming or not content_type.startswith("text/event-stream"):
        try:
            data = await _read_whole(context, response)
        except UpstreamError as exc:
            return error_reply(exc.status, exc.code, exc.message)
        if data is None:
            return error_reply(502, "upstream_too_large", "The endpoint's reply is too large.")
        if request.method == "POST" and response.status == 200:
            await _keep_usage(access, request, _whole_reply_tally(data))
        return Reply(response.status, data, content_type)

    stream = _Stream(context, response, access, request)
    # on_close also runs when the client left before the first chunk was asked for, when
    # the relay never started and so never reached its own `finally`.
    return Reply(200, stream.relay(), "text/event-stream", dict(SSE_HEADERS), stream.close)


async def _open(
    access: Access, request: PassthroughRequest, started: float
) -> tuple[_Upstream, aiohttp.ClientResponse] | Reply:
    """The endpoint's open response and the context that closes it, or the error reply.

    Entered by hand rather than with `async with`: a streamed reply outlives this
    call and is closed by the relay once the client has read (or left).
    """
    post = request.method == "POST"
    try:
        credential = await upstream_headers(
            credential=access.credential, endpoint_url=access.endpoint_url
        )
        context = upstream_request(
            method=request.method,
            url=f"{access.endpoint_url.rstrip('/')}/v1/{request.route}",
            headers={
                **access.model_headers(request.model or access.default_model if post else ""),
                **(json_headers(credential) if post else credential),
            },
            body=json.dumps(request.body).encode() if post else None,
            started=started,
            ca_pem=access.ca_pem,
            refused_hint=access.access_hint,
        )
        response = await context.__aenter__()
    except UpstreamError as exc:
        return error_reply(exc.status, exc.code, exc.message)
    except UpstreamCredentialError as exc:
        return error_reply(502, "upstream_credential", str(exc))
    return context, response


async def _read_whole(context: _Upstream, response: aiohttp.ClientResponse) -> bytes | None:
    """The whole reply, or None past WHOLE_REPLY_MAX; a broken or stalled reply raises the
    UpstreamError upstream_request makes of it."""
    try:
        data = await read_bounded(response, WHOLE_REPLY_MAX)
    except Exception as exc:
        if not await context.__aexit__(type(exc), exc, exc.__traceback__):
            raise
        raise  # pragma: no cover  (upstream_request never swallows an error)
    await context.__aexit__(None, None, None)
    return data


class _Stream:
    """One streamed reply: relayed event by event, closed and metered exactly once."""

    def __init__(
        self,
        context: _Upstream,
        response: aiohttp.ClientResponse,
        access: Access,
        request: PassthroughRequest,
    ) -> None:
        self.context, self.response = context, response
        self.access, self.request = access, request
        self.tally = Tally()
        self.closed = False
        # A long stream's usage is journaled as it goes: a process that dies mid-stream
        # leaves it counted (playground/records.py).
        self.usage_id: int | None = None
        self.checked_at = time.monotonic()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.context.__aexit__(None, None, None)
        finally:
            # Shielded: the server cancels the relay when the client leaves, which may be
            # while this is on its way (an id, a Redis round trip); it must still land.
            keep = _keep_usage(self.access, self.request, self.tally, self.usage_id)
            await asyncio.shield(keep)

    async def relay(self) -> AsyncIterator[bytes]:
        """The endpoint's events as they come, whole events only; usage counted on the way."""
        reader = SseEvents()
        try:
            async for data in self.response.content.iter_any():
                out = [event + b"\n\n" for event in reader.feed(data) if self._passes(event)]
                if out:
                    yield b"".join(out)
                    if time.monotonic() - self.checked_at >= CHECKPOINT_SECONDS:
                        await self._checkpoint()
            events, rest = reader.end()
            out = [event + b"\n\n" for event in events if self._passes(event)]
            if rest:
                out.append(rest)  # unfinished, as the endpoint left it
            if out:
                yield b"".join(out)
        finally:
            await self.close()

    async def _checkpoint(self) -> None:
        self.checked_at = time.monotonic()
        self.usage_id = await _keep_usage(
            self.access, self.request, self.tally, self.usage_id, final=False
        )

    def _passes(self, event: bytes) -> bool:
        """Count one event into the tally; False for the usage chunk only Hangar asked for."""
        if b'"usage"' in event:
            obj = _event_json(event)
            usage = _usage_of(obj)
            if usage is not None:
                self.tally.usage = usage
                if not self.request.wants_usage and not obj.get("choices"):
                    return False
        if event.startswith(b"data:") and b"[DONE]" not in event:
            self.tally.pieces += 1
        return True


def _event_json(event: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(sse_data(event))
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _whole_reply_tally(data: bytes) -> Tally:
    tally = Tally()
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return tally
    if not isinstance(obj, dict):
        return tally
    tally.usage = _usage_of(obj)
    choices = obj.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else choice.get("text")
        tally.content.append(text if isinstance(text, str) else "")
    if tally.usage is None and tally.text():
        tally.pieces = estimate_tokens(tally.text())
    return tally
