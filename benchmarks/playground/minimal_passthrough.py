"""The reference: the least a streaming pass-through can do (Starlette + aiohttp).

UPSTREAM=http://127.0.0.1:9100 uvicorn minimal_passthrough:app --port 9101
"""

import os

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9100")
session: aiohttp.ClientSession | None = None


async def chat(request: Request) -> StreamingResponse:
    global session
    if session is None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    body = await request.body()
    headers = {"Content-Type": "application/json"}
    upstream = await session.post(f"{UPSTREAM}/v1/chat/completions", data=body, headers=headers)

    async def relay():  # type: ignore[no-untyped-def]
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        finally:
            upstream.close()

    return StreamingResponse(relay(), media_type="text/event-stream")


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
