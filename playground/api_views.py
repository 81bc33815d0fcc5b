"""The proxy's paths as async Django views: the same handlers, behind Django's middleware.

Under uvicorn (config/asgi.py) these paths are answered by playground/asgi.py before
Django sees them; these views give the paths their names for `reverse()` and serve them
wherever that route is not in front (Django's test client, a WSGI server).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from playground import handlers
from playground.replies import Reply


def _incoming(request: HttpRequest) -> handlers.Incoming:
    return handlers.Incoming(
        method=request.method or "GET",
        body=request.body,
        session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME),
        authorization=request.headers.get("Authorization"),
    )


async def _to_django(reply: Reply) -> HttpResponseBase:
    response: HttpResponseBase
    if isinstance(reply.body, bytes):
        response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
        if reply.on_close is not None:
            await reply.on_close()
    else:
        response = StreamingHttpResponse(
            _closing(reply), status=reply.status, content_type=reply.content_type
        )
    for name, value in reply.headers.items():
        response[name] = value
    return response


async def _closing(reply: Reply) -> AsyncIterator[bytes]:
    body = reply.body
    if isinstance(body, bytes):
        raise TypeError("a streamed reply has an iterator body")
    try:
        async for chunk in body:
            yield chunk
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
        if reply.on_close is not None:
            await reply.on_close()


@require_POST
async def chat_view(request: HttpRequest) -> HttpResponseBase:
    return await _to_django(await handlers.chat(_incoming(request)))


@require_GET
async def models_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    return await _to_django(await handlers.models(_incoming(request), pk))


@csrf_exempt  # a team API token, never a cookie, authenticates these
async def openai_view(request: HttpRequest, pk: str, route: str) -> HttpResponseBase:
    return await _to_django(await handlers.openai(_incoming(request), int(pk), route))
