"""vLLM's demo server (`python -m vllm.entrypoints.api_server`, seed 003's command) as the
sandbox plays it: /health and /generate only, and /generate validates nothing."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from sandbox.model_servers.vllm_server import Metrics, VllmServer


def _call(method: str, path: str, body: object = None) -> tuple[int, str]:
    server = VllmServer("google/gemma-3-1b-it", None, 0, Metrics(), openai=False)
    raw = b"" if body is None else json.dumps(body).encode()

    async def run() -> tuple[int, str]:
        response = await server.dispatch(make_mocked_request(method, path), path, raw)
        assert isinstance(response, web.Response)  # the demo server does not stream here
        assert isinstance(response.body, bytes | None)
        return response.status, (response.body or b"").decode()

    return asyncio.run(run())


def test_generate_answers_the_prompt_followed_by_the_output():
    status, body = _call("POST", "/generate", {"prompt": "Hello"})
    assert status == 200
    (text,) = json.loads(body)["text"]
    assert text.startswith("Hello") and len(text) > len("Hello")


def test_generate_without_a_prompt_is_the_demo_servers_500():
    assert _call("POST", "/generate", {"max_tokens": 5}) == (500, "Internal Server Error")


def test_the_openai_routes_are_not_the_demo_servers():
    status, body = _call("GET", "/v1/models")
    assert (status, json.loads(body)) == (404, {"detail": "Not Found"})
