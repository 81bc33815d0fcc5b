"""A deployed Ollama server: what it answers on /api/chat, /api/generate, /api/tags and
/v1/models (its OpenAI-compatible endpoints are in ollama_openai.py). A Cloud Run service
reaches it through Cloud Run's front end (sandbox/cloud_run/frontend.py).

Replies are deterministic text streamed word by word.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from aiohttp import web


def _ollama_error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def normalize(name: str) -> str:
    """Ollama's canonical model name: a missing tag means ':latest'."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def reply_for(model: str, prompt: str) -> str:
    heard = " ".join(prompt.split())[:300] or "nothing"
    return (
        f"Sandbox {model} heard: {heard}. This reply comes from the Hangar sandbox, not from a "
        "real model. It is streamed one word at a time so that clients can be tested. "
        "Ask again and you will get the same answer."
    )


def words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


class OllamaServer:
    def __init__(self, model: str | None, token_delay: float, load_wait: float) -> None:
        self.model = model
        self.token_delay = token_delay
        self.load_ns = int(load_wait * 1e9) + 1_000_000

    async def dispatch(self, request: web.Request, path: str, body: bytes) -> web.StreamResponse:
        routes = {
            ("GET", "/"): self.root,
            ("HEAD", "/"): self.root,
            ("GET", "/api/version"): self.version,
            ("GET", "/api/tags"): self.tags,
            ("GET", "/api/ps"): self.ps,
            ("POST", "/api/chat"): self.chat,
            ("POST", "/api/generate"): self.generate,
            ("GET", "/v1/models"): self.openai_models,
            ("POST", "/v1/chat/completions"): self.openai_chat,
            ("POST", "/v1/completions"): self.openai_completions,
        }
        handler = routes.get((request.method, path))
        if handler is None:
            return web.Response(text="404 page not found", status=404, content_type="text/plain")
        data: dict[str, Any] = {}
        if request.method == "POST":
            try:
                parsed = json.loads(body or b"{}")
            except ValueError as exc:
                return self._bad_json(path, str(exc))
            if not isinstance(parsed, dict):
                return self._bad_json(path, "json: cannot unmarshal array into Go value")
            data = parsed
        return await handler(request, data)

    def _bad_json(self, path: str, message: str) -> web.Response:
        if path.startswith("/v1/"):
            return _openai_error(f"invalid JSON: {message}", 400, "invalid_request_error")
        return _ollama_error(message, 400)

    async def root(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return web.Response(text="Ollama is running", content_type="text/plain")

    async def version(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return web.json_response({"version": "0.12.6"})

    async def tags(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        models = []
        if self.model:
            family = self.model.split(":")[0]
            models.append(
                {
                    "name": self.model,
                    "model": self.model,
                    "modified_at": _now_iso(),
                    "size": 3338801804,
                    "digest": uuid.uuid5(uuid.NAMESPACE_URL, self.model).hex * 2,
                    "details": {
                        "parent_model": "",
                        "format": "gguf",
                        "family": family,
                        "families": [family],
                        "parameter_size": "4.3B",
                        "quantization_level": "Q4_K_M",
                    },
                }
            )
        return web.json_response({"models": models})

    async def ps(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        """The models loaded in memory (https://docs.ollama.com/api/ps): the baked one, on
        the GPU once an instance is warm; the seed's OLLAMA_KEEP_ALIVE=-1 keeps it."""
        tags = json.loads((await self.tags(request, data)).text or "{}")["models"]
        loaded = [
            {
                **tag,
                "expires_at": "2318-08-01T00:00:00Z",
                "size_vram": tag["size"],
                "context_length": 4096,
            }
            for tag in tags
        ]
        return web.json_response({"models": loaded})

    def _check_model(self, name: object) -> str | None:
        if not isinstance(name, str) or not name:
            return "model is required"
        if self.model is None or normalize(name) != self.model:
            return f'model "{name}" not found, try pulling it first'
        return None

    async def chat(self, request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
        messages = data.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(x, dict) for x in messages):
            return _ollama_error("json: cannot unmarshal messages", 400)
        return await self._ollama(
            request, data, _last_user(messages), _all_text(messages), "message"
        )

    async def generate(self, request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
        prompt = data.get("prompt") or ""
        if not isinstance(prompt, str):
            return _ollama_error("json: cannot unmarshal prompt", 400)
        system = data.get("system") or ""
        return await self._ollama(request, data, prompt, f"{system} {prompt}", "response")

    async def _ollama(
        self, request: web.Request, data: dict[str, Any], prompt: str, context: str, key: str
    ) -> web.StreamResponse:
        problem = self._check_model(data.get("model"))
        if problem:
            return _ollama_error(problem, 400 if problem == "model is required" else 404)
        name = data["model"]
        think = bool(data.get("think"))
        if think and not supports_thinking(name):
            return _ollama_error(f'"{name}" does not support thinking', 400)
        started = time.monotonic_ns()
        if not prompt:  # Ollama answers an empty request by just loading the model.
            return web.json_response(self._final(name, key, [], 0, started, "load"))
        options = data.get("options") if isinstance(data.get("options"), dict) else {}
        tokens, reason = _limit(words(reply_for(name, prompt)), (options or {}).get("num_predict"))
        thoughts = words(thought_for(prompt)) if think else []
        prompt_count = len(context.split())
        if data.get("stream", True) is False:
            text = "".join(tokens)
            final = self._final(name, key, thoughts + tokens, prompt_count, started, reason)
            final["message" if key == "message" else "response"] = _piece(key, text)
            if thoughts:
                final[key if key == "message" else "thinking"] = _piece(key, text, thoughts)
            return web.json_response(final)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        pieces = [("thinking", t) for t in thoughts] + [("content", t) for t in tokens]

        async def body() -> None:
            for field, token in pieces:
                chunk = {"model": name, "created_at": _now_iso(), key: _piece(key, token)}
                if field == "thinking":
                    chunk.update(_thinking(key, token))
                chunk["done"] = False
                await resp.write((json.dumps(chunk) + "\n").encode())
                await asyncio.sleep(self.token_delay)
            final = self._final(name, key, thoughts + tokens, prompt_count, started, reason)
            await resp.write((json.dumps(final) + "\n").encode())

        await record_stream(request, body())
        await resp.write_eof()
        return resp

    def _final(
        self, name: str, key: str, tokens: list[str], prompt_count: int, started: int, reason: str
    ) -> dict[str, Any]:
        total = time.monotonic_ns() - started + self.load_ns
        return {
            "model": name,
            "created_at": _now_iso(),
            key: _piece(key, ""),
            "done": True,
            "done_reason": reason,
            "total_duration": total,
            "load_duration": self.load_ns,
            "prompt_eval_count": prompt_count,
            "prompt_eval_duration": prompt_count * 1_000_000,
            "eval_count": len(tokens),
            "eval_duration": max(total - self.load_ns, 1),
        }

    async def openai_models(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        items = (
            []
            if not self.model
            else [
                {
                    "id": self.model,
                    "object": "model",
                    "created": int(time.time()),
                    "owned_by": "library",
                }
            ]
        )
        return web.json_response({"object": "list", "data": items})

    async def openai_chat(self, request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
        from sandbox.model_servers.ollama_openai import chat_completions

        return await chat_completions(self, request, data)

    async def openai_completions(
        self, request: web.Request, data: dict[str, Any]
    ) -> web.StreamResponse:
        from sandbox.model_servers.ollama_openai import completions

        return await completions(self, request, data)


def _piece(key: str, text: str, thoughts: list[str] | None = None) -> Any:
    if thoughts is not None:
        thinking = "".join(thoughts)
        return (
            {"role": "assistant", "content": text, "thinking": thinking}
            if key == "message"
            else thinking
        )
    return {"role": "assistant", "content": text} if key == "message" else text


def _thinking(key: str, token: str) -> dict[str, Any]:
    # /api/chat puts thinking beside content in the message; /api/generate beside response.
    if key == "message":
        return {"message": {"role": "assistant", "content": "", "thinking": token}}
    return {"response": "", "thinking": token}


def supports_thinking(model: str) -> bool:
    """Ollama refuses `think` for models without a thinking template; of ours, Gemma 4 has one."""
    return model.split("/")[-1].startswith("gemma4")


def thought_for(prompt: str) -> str:
    heard = " ".join(prompt.split())[:80] or "nothing"
    return f"The user wrote: {heard}. I should answer plainly and say I am the sandbox."


async def record_stream(request: web.Request, body: Awaitable[None]) -> None:
    """Run a streaming body, noting in the request log whether the client stayed to the end.

    Tests read this to prove that a proxy in front cancelled the upstream request
    when its own client went away.
    """
    entry = request.get("log_entry")
    try:
        await body
    except (ConnectionResetError, asyncio.CancelledError):
        if entry is not None:
            entry["stream"] = "client_gone"
        raise
    if entry is not None:
        entry["stream"] = "completed"


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def _all_text(messages: list[dict[str, Any]]) -> str:
    return " ".join(
        str(m.get("content", "")) for m in messages if isinstance(m.get("content"), str)
    )


def _limit(tokens: list[str], limit: object) -> tuple[list[str], str]:
    if isinstance(limit, int) and 0 < limit < len(tokens):
        return tokens[:limit], "length"
    return tokens, "stop"


def _openai_error(message: str, status: int, kind: str = "api_error") -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status
    )
