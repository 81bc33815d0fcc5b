"""A client that goes away mid-stream (a playground's Stop) is normal: the sandbox logs one
line, not aiohttp's "Error handling request" traceback."""

import asyncio
import logging

import aiohttp
from aiohttp import web

from sandbox.server import app as sandbox_app


def _streams_until_gone(ended: list[asyncio.Event]):
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:  # as a model server streams tokens: a write fails once the client left
                await response.write(b"data: token\n\n")
                await asyncio.sleep(0.01)
        finally:
            ended[0].set()

    return handler


async def _stop_mid_stream(ended: list[asyncio.Event]) -> None:
    ended.append(asyncio.Event())
    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", sandbox_app.dispatch)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        async with aiohttp.ClientSession() as session, session.post(url) as resp:
            await resp.content.readline()  # the first token arrived: Stop
            resp.close()
        # The server's next writes find the connection gone; a loaded machine may be slow.
        await asyncio.wait_for(ended[0].wait(), timeout=60)
    finally:
        await runner.cleanup()


def test_a_client_leaving_mid_stream_is_one_line(monkeypatch, caplog, capsys):
    ended: list[asyncio.Event] = []
    monkeypatch.setattr(sandbox_app, "_dispatch", _streams_until_gone(ended))
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    asyncio.run(_stop_mid_stream(ended))

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    err = capsys.readouterr().err
    assert err.count("client went away: POST /v1/chat/completions") == 1
    assert "Traceback" not in err
