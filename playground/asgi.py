"""A lean ASGI route for the proxy's streaming paths, mounted beside Django in config/asgi.py.

Why not a Django view: Django runs its (synchronous) middleware for every request on one
shared thread. Measured with benchmarks/playground/run.py on the 2-core development machine
(2026-12-05 09:15 UTC, its README), the passthrough with one team token added to the first
token (p50) at 1 / 50 / 200 concurrent streams: as an async Django view 37 / 198 / 1,082 ms,
on this route 31 / 42 / 271 ms. These three paths skip Django's request path; who may call
stays Django's (sessions, `get_user`, CSRF middleware, the API token class, the team
selectors: playground.access). Every other path goes to Django untouched. The same handlers
are also Django views (playground/api_views.py), which name the paths for reverse() and
serve them wherever this route is not in front (Django's test client, a WSGI server).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware

from playground import handlers
from playground.access_sql import BIGINT_MAX, access_sql_close, access_sql_open
from playground.db import db_pool_close
from playground.limits import limits_close
from playground.records import records_drain, records_start
from playground.replies import Reply, error_reply
from playground.upstream import upstream_close

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHAT = re.compile(r"/playground/api/chat")
MODELS = re.compile(r"/playground/api/deployments/(?P<pk>[0-9]+)/models")
OPENAI = re.compile(
    r"/api/v1/deployments/(?P<pk>[0-9]+)/openai/v1/(?P<route>chat/completions|completions|models)"
)
MAX_BODY = 8 * 2**20
logger = logging.getLogger(__name__)


def with_playground(django_app: Callable[..., Awaitable[None]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith(("/playground/api/", "/api/v1/deployments/")):
                reply = await _route(scope, receive, path)
                if reply is not None:
                    await send_reply(reply, receive, send)
                    return
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await django_app(scope, receive, send)

    return app


async def _route(scope: Scope, receive: Receive, path: str) -> Reply | None:
    chat = CHAT.fullmatch(path)
    models = None if chat else MODELS.fullmatch(path)
    openai = None if chat or models else OPENAI.fullmatch(path)
    if not (chat or models or openai):
        return None
    body = await _read_body(receive)
    if body is None:
        return error_reply(413, "too_large", "The request body is larger than 8 MiB.")
    # One Django request for both of Django's checks (the host, and CSRF for the chat).
    django_request = ASGIRequest(scope, io.BytesIO(body if chat else b""))
    refused = _host_refusal(django_request)
    if refused is not None:
        return error_reply(400, "disallowed_host", refused)
    method = scope["method"]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    cookies = parse_cookie(headers.get("cookie", ""))
    incoming = handlers.Incoming(
        method=method,
        body=body,
        session_key=cookies.get(settings.SESSION_COOKIE_NAME),
        authorization=headers.get("authorization"),
    )
    if chat:
        if method != "POST":
            return error_reply(405, "method_not_allowed", "Use POST.")
        refused = _csrf_refusal(django_request)
        if refused is not None:
            return error_reply(403, "csrf_failed", refused)
        return await handlers.chat(incoming)
    if models:
        if method != "GET":
            return error_reply(405, "method_not_allowed", "Use GET.")
        return await handlers.models(incoming, _path_id(models["pk"]))
    if openai is None:
        return None
    return await handlers.openai(incoming, _path_id(openai["pk"]), openai["route"])


def _path_id(digits: str) -> int:
    """The id in the path. One longer than any bigint is 0, which no row has (a 404 in the
    handler's words): int() of more than 4300 digits raises instead (sys.int_info)."""
    return int(digits) if len(digits) <= len(str(BIGINT_MAX)) else 0


def _host_refusal(request: ASGIRequest) -> str | None:
    """Django's own ALLOWED_HOSTS check (HttpRequest.get_host), as every Django view gets it."""
    try:
        request.get_host()
    except DisallowedHost:
        # Django's message suggests a setting; like Django outside DEBUG, say less.
        return "The Host header names a host this portal does not serve."
    return None


def _csrf_refusal(request: ASGIRequest) -> str | None:
    """Django's own CSRF check (token and origin), as its middleware would run it."""
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    try:
        check.process_request(request)
        refused = check.process_view(request, lambda r: HttpResponse(), (), {})
    except DisallowedHost as exc:
        return str(exc)
    if refused is None:
        return None
    return "The CSRF check failed; reload the page and try again."


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_reply(reply: Reply, receive: Receive, send: Send) -> None:
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"x-content-type-options", b"nosniff"),
        *((k.lower().encode(), v.encode()) for k, v in reply.headers.items()),
    ]
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if isinstance(reply.body, bytes):
            await send({"type": "http.response.body", "body": reply.body})
            return
        await _stream(reply, receive, send)
    finally:
        if reply.on_close is not None:
            await asyncio.shield(reply.on_close())


async def _stream(reply: Reply, receive: Receive, send: Send) -> None:
    """Send the body as it comes; if the client goes away, cancel it (and so the upstream)."""
    body = reply.body
    if isinstance(body, bytes):
        raise TypeError("a streamed reply has an iterator body")

    async def pump() -> None:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pumping, watching):
            task.cancel()
        for task in (pumping, watching):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    if pumping.done() and not pumping.cancelled() and pumping.exception() is not None:
        # Headers are out; all that is left is to end the response, which the server does.
        logger.error("playground stream failed", exc_info=pumping.exception())


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await access_sql_open()
            await records_start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await records_drain()
            await upstream_close()
            await limits_close()
            await access_sql_close()
            await asyncio.to_thread(db_pool_close)
            await send({"type": "lifespan.shutdown.complete"})
            return
