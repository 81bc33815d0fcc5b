"""The reference: the least a streaming pass-through can do (Starlette + aiohttp), with the
upstream handling Hangar has (playground/upstream.py): one pooled session whose idle
connections are kept UPSTREAM_KEEPALIVE_SECONDS and reused, a connection the endpoint
dropped before answering retried once on a fresh one, a finished response released back
to the pool (not closed).

UPSTREAM=http://127.0.0.1:9100 uvicorn minimal_passthrough:app --port 9101
"""

import os

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9100")
KEEPALIVE = float(os.environ.get("UPSTREAM_KEEPALIVE_SECONDS", "4"))
pooled: aiohttp.ClientSession | None = None
fresh: aiohttp.ClientSession | None = None


async def chat(request: Request) -> StreamingResponse:
    global pooled, fresh
    if pooled is None or fresh is None:
        pooled = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE)
        )
        fresh = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))
    body = await request.body()
    headers = {"Content-Type": "application/json"}
    url = f"{UPSTREAM}/v1/chat/completions"
    try:
        upstream = await pooled.post(url, data=body, headers=headers)
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
        upstream = await fresh.post(url, data=body, headers=headers)  # the keep-alive race

    async def relay():  # type: ignore[no-untyped-def]
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        finally:
            upstream.release()  # read to the end: back to the pool

    return StreamingResponse(relay(), media_type="text/event-stream")


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
