"""Ollama's OpenAI-compatible chat endpoint (/v1/chat/completions, SSE when streaming)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.model_servers.ollama_server import (
    _all_text,
    _last_user,
    _limit,
    _openai_error,
    record_stream,
    reply_for,
    words,
)

if TYPE_CHECKING:
    from sandbox.model_servers.ollama_server import OllamaServer


async def chat_completions(
    server: OllamaServer, request: web.Request, data: dict[str, Any]
) -> web.StreamResponse:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return _openai_error("messages is required", 400, "invalid_request_error")
    problem = server._check_model(data.get("model"))
    if problem:
        status = 400 if problem == "model is required" else 404
        kind = "invalid_request_error" if status == 400 else "api_error"
        return _openai_error(problem, status, kind)
    name = data["model"]
    limit = data.get("max_completion_tokens", data.get("max_tokens"))
    tokens, reason = _limit(words(reply_for(name, _last_user(messages))), limit)
    usage = {
        "prompt_tokens": len(_all_text(messages).split()),
        "completion_tokens": len(tokens),
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    ident = "chatcmpl-" + str(secrets.randbelow(1000))
    created = int(time.time())
    base = {"id": ident, "created": created, "model": name, "system_fingerprint": "fp_ollama"}
    if not data.get("stream", False):
        return _whole_chat(base, tokens, reason, usage)
    options = data.get("stream_options") if isinstance(data.get("stream_options"), dict) else {}
    include_usage = bool((options or {}).get("include_usage"))
    chunk = {**base, "object": "chat.completion.chunk"}
    return await _stream_chat(
        server, request, chunk, tokens, reason, usage if include_usage else None
    )


def _whole_chat(
    base: dict[str, Any], tokens: list[str], reason: str, usage: dict[str, int]
) -> web.Response:
    return web.json_response(
        {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens)},
                    "finish_reason": reason,
                }
            ],
            "usage": usage,
        }
    )


async def _stream_chat(
    server: OllamaServer,
    request: web.Request,
    chunk: dict[str, Any],
    tokens: list[str],
    reason: str,
    usage: dict[str, int] | None,
) -> web.StreamResponse:
    """One chunk a token, then the finish reason, then `usage` if the client asked for it."""
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)

    async def send(payload: object) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await resp.write(f"data: {text}\n\n".encode())

    async def body() -> None:
        for token in tokens:
            delta = {"role": "assistant", "content": token}
            await send({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            await asyncio.sleep(server.token_delay)
        end = {"role": "assistant", "content": ""}
        await send({**chunk, "choices": [{"index": 0, "delta": end, "finish_reason": reason}]})
        if usage is not None:
            await send({**chunk, "choices": [], "usage": usage})
        await send("[DONE]")

    await record_stream(request, body())
    await resp.write_eof()
    return resp


async def completions(
    server: OllamaServer, request: web.Request, data: dict[str, Any]
) -> web.StreamResponse:
    """Legacy text completions (/v1/completions), which Ollama also serves."""
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        return _openai_error("prompt must be a string", 400, "invalid_request_error")
    problem = server._check_model(data.get("model"))
    if problem:
        status = 400 if problem == "model is required" else 404
        return _openai_error(
            problem, status, "invalid_request_error" if status == 400 else "api_error"
        )
    name = data["model"]
    tokens, reason = _limit(words(reply_for(name, prompt)), data.get("max_tokens"))
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(tokens)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    base = {
        "id": "cmpl-" + str(secrets.randbelow(1000)),
        "object": "text_completion",
        "created": int(time.time()),
        "model": name,
        "system_fingerprint": "fp_ollama",
    }
    if not data.get("stream", False):
        choice = {"text": "".join(tokens), "index": 0, "logprobs": None, "finish_reason": reason}
        return web.json_response({**base, "choices": [choice], "usage": usage})
    options = data.get("stream_options") if isinstance(data.get("stream_options"), dict) else {}
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)

    async def send(payload: object) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await resp.write(f"data: {text}\n\n".encode())

    async def body() -> None:
        for i, token in enumerate(tokens):
            done = reason if i == len(tokens) - 1 else None
            choice = {"text": token, "index": 0, "logprobs": None, "finish_reason": done}
            await send({**base, "choices": [choice]})
            await asyncio.sleep(server.token_delay)
        if (options or {}).get("include_usage"):
            await send({**base, "choices": [], "usage": usage})
        await send("[DONE]")

    await record_stream(request, body())
    await resp.write_eof()
    return resp
