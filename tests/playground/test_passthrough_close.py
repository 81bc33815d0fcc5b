"""A streamed passthrough reply closes its upstream however the client leaves, even before
the first chunk was asked for (when the relay never started)."""

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

import pytest
from aiohttp import web

from playground import asgi, passthrough
from playground.access import Access
from playground.passthrough_request import passthrough_parse
from playground.protocols import Protocol

pytestmark = pytest.mark.django_db


async def _silent_endpoint(gone: asyncio.Event) -> web.AppRunner:
    """An endpoint that opens an event stream, sends nothing, and notices when it is dropped."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            while True:
                await asyncio.sleep(0.05)
                await response.write(b": still thinking\n\n")
        except (ConnectionError, RuntimeError):
            gone.set()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def _client_gone_before_the_first_chunk(monkeypatch) -> bool:
    gone = asyncio.Event()
    runner = await _silent_endpoint(gone)
    port = runner.addresses[0][1]

    async def no_credential(**_: object) -> dict[str, str]:
        return {}

    monkeypatch.setattr(passthrough, "upstream_headers", no_credential)
    monkeypatch.setattr(passthrough, "_keep_usage", _keep_nothing)
    access = Access(
        1,
        "dev",
        None,
        1,
        "llm",
        "cloud-run-ollama",
        f"http://127.0.0.1:{port}",
        Protocol.OLLAMA,
        "none",
        "gemma3:4b",
        False,
    )
    request = passthrough_parse(
        route="chat/completions",
        method="POST",
        raw_body=b'{"messages": [{"role": "user", "content": "hi"}], "stream": true}',
    )
    reply = await passthrough.openai_passthrough(
        access=access, request=request, started=time.monotonic()
    )
    assert reply.status == 200

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        raise OSError("the client has gone")  # as the server says when the socket is closed

    with pytest.raises(OSError, match="gone"):
        await asgi.send_reply(reply, receive, send)
    try:
        await asyncio.wait_for(gone.wait(), timeout=10)
        return True
    except TimeoutError:
        return False
    finally:
        await passthrough_upstream_close()
        await runner.cleanup()


async def passthrough_upstream_close() -> None:
    from playground.upstream import upstream_close

    await upstream_close()


def test_the_upstream_closes_when_the_client_leaves_before_the_first_chunk(monkeypatch):
    assert asyncio.run(_client_gone_before_the_first_chunk(monkeypatch))


async def _keep_nothing(*_: object, **__: object) -> None:
    return None
