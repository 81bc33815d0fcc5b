"""The proxy trusts no upstream: what an endpoint says in an error reaches the caller bounded
and cleaned, never with the credential Hangar sent it; odd shapes are no 5xx."""

import asyncio
import json
import time
from collections.abc import MutableMapping
from typing import Any

import pytest
from aiohttp import web

from playground import passthrough
from playground.access import Access
from playground.passthrough_request import passthrough_parse
from playground.protocols import Protocol
from playground.upstream import upstream_close

pytestmark = pytest.mark.django_db

ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3gifQ.c2lnbmF0dXJlLXNlY3JldA"


def _echo_headers(status: int, shape: str):
    async def handler(request: web.Request) -> web.Response:
        headers = dict(request.headers)
        if shape == "openai":
            body = json.dumps({"error": {"message": f"bad request; you sent {headers}"}})
        elif shape == "dict":
            body = json.dumps({"error": {"detail": headers, "code": 400}})
        elif shape == "deep":
            body = "[" * 50_000 + "]" * 50_000
        else:
            body = f"<html><b>Bad</b> \x1b[31m{headers}\x00</html>" + "x" * 100_000
        return web.Response(status=status, text=body, content_type="application/json")

    return handler


async def _call(monkeypatch, status: int, shape: str) -> tuple[int, dict]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _echo_headers(status, shape))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]

    async def id_token(**_: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {ID_TOKEN}"}

    monkeypatch.setattr(passthrough, "upstream_headers", id_token)
    access = Access(
        1,
        "dev",
        None,
        1,
        "llm",
        "cloud-run-vllm",
        f"http://127.0.0.1:{port}",
        Protocol.OPENAI,
        "none",
        "m",
        False,
    )
    request = passthrough_parse(
        route="chat/completions", method="POST", raw_body=b'{"messages": [], "stream": false}'
    )
    try:
        reply = await passthrough.openai_passthrough(
            access=access, request=request, started=time.monotonic()
        )
    finally:
        await upstream_close()
        await runner.cleanup()
    assert isinstance(reply.body, bytes)
    return reply.status, json.loads(reply.body)


@pytest.mark.parametrize("status", [400, 404, 422, 500])
@pytest.mark.parametrize("shape", ["openai", "dict", "deep", "html"])
def test_an_endpoint_that_echoes_headers_never_hands_back_the_credential(
    monkeypatch, status, shape
):
    code, body = asyncio.run(_call(monkeypatch, status, shape))
    assert code < 500 or code in (502, 504)
    message = body["error"]["message"]
    assert "eyJ" not in message and "c2lnbmF0dXJl" not in message
    assert len(message) <= 400
    assert "\x00" not in message and "\x1b" not in message


def test_model_names_of_any_shape_are_no_5xx():
    from playground.protocols import model_names

    assert model_names(Protocol.OPENAI, {"data": 5}) == []
    assert model_names(Protocol.OLLAMA, {"models": "abc"}) == []
    names = model_names(Protocol.OPENAI, {"data": [{"id": "x" * 10_000}] * 5_000})
    assert len(names) <= 1000 and all(len(n) <= 200 for n in names)


def test_lean_routes_refuse_a_host_not_allowed(settings):
    from playground import asgi

    settings.ALLOWED_HOSTS = ["hangar.example.com"]
    sent: list[MutableMapping[str, Any]] = []

    async def run() -> None:
        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        async def django_app(scope, receive, send) -> None:
            raise AssertionError("the lean route should answer")

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/deployments/1/openai/v1/models",
            "query_string": b"",
            "headers": [(b"host", b"evil.example.net"), (b"authorization", b"Bearer x")],
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5000),
            "scheme": "http",
            "root_path": "",
        }
        await asgi.with_playground(django_app)(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"]["code"] == "disallowed_host"
