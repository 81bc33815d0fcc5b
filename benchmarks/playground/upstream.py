"""A fake OpenAI-compatible model server that streams at a fixed pace, and can drop reused
connections as a keep-alive race does.

POST /v1/chat/completions streams CHUNKS content chunks INTERVAL seconds apart (the
first at once), then a usage chunk when asked, then [DONE]. GET /v1/models lists one
model. Authorization is accepted and ignored: the proxies under test add their own.

POST /_faults {"drop_reused": N} closes, without answering, every Nth request that comes
on a connection already used for an earlier one (0: never): what a client sees when the
server closes an idle connection just as a request is written on it. GET /_faults says
how many were dropped.

    python upstream.py --port 9100 --chunks 50 --interval 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import weakref

from aiohttp import web

MODEL = "bench-model"


def build(chunks: int, interval: float) -> web.Application:
    faults = {"drop_reused": 0, "reused": 0, "dropped": 0}
    # Requests per connection, by its transport: not by the peer's address, whose port a
    # later connection may be given again (that would count a new connection as reused).
    served: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()

    def dropped(request: web.Request) -> bool:
        transport = request.transport
        if transport is None:
            return False
        served[transport] = served.get(transport, 0) + 1
        if served[transport] == 1 or not faults["drop_reused"]:
            return False
        faults["reused"] += 1
        if faults["reused"] % faults["drop_reused"]:
            return False
        faults["dropped"] += 1
        transport.close()  # no byte of an answer: the keep-alive race
        return True

    async def chat(request: web.Request) -> web.StreamResponse:
        if dropped(request):
            raise asyncio.CancelledError  # the connection is gone; aiohttp drops the handler
        body = await request.json()
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        base: dict[str, object] = {"id": "cmpl-bench", "object": "chat.completion.chunk"}
        base |= {"model": MODEL, "created": int(time.time())}
        for i in range(chunks):
            delta = {"content": f"tok{i} "}
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            await response.write(f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode())
            await asyncio.sleep(interval)
        end = {"index": 0, "delta": {}, "finish_reason": "stop"}
        await response.write(f"data: {json.dumps({**base, 'choices': [end]})}\n\n".encode())
        if usage:
            counts = {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": chunks + 8}
            data = json.dumps({**base, "choices": [], "usage": counts})
            await response.write(f"data: {data}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def set_faults(request: web.Request) -> web.Response:
        faults["drop_reused"] = int((await request.json()).get("drop_reused", 0))
        faults["reused"] = faults["dropped"] = 0
        return web.json_response(faults)

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(faults)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/_faults", set_faults)
    app.router.add_get("/_faults", get_faults)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()
    web.run_app(build(args.chunks, args.interval), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
