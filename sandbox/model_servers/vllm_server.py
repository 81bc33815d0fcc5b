"""A deployed vLLM OpenAI-compatible server: /v1/chat/completions and /v1/completions
(JSON or SSE ending in `data: [DONE]`), /v1/models, /health, /version and /metrics
(Prometheus text with vLLM's metric names, which move with the requests served: requests
running and waiting, KV-cache use, preemptions, tokens, time to first token and between
tokens; https://docs.vllm.ai/en/stable/usage/metrics/ and vLLM's docs/design/metrics.md).
Replies are the sandbox's deterministic text, streamed a word at a time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.model_servers.ollama_server import reply_for, words

VERSION = "0.21.0"


@dataclass
class Metrics:
    """The counters one service's vLLM exports, kept across requests."""

    prompt_tokens: int = 0
    generation_tokens: int = 0
    requests: dict[str, int] = field(default_factory=dict)  # finish reason -> count
    running: int = 0
    e2e_seconds: list[float] = field(default_factory=list)
    # Per request: time to its first token; per token after the first: the gap before it.
    ttft_seconds: list[float] = field(default_factory=list)
    itl_seconds: list[float] = field(default_factory=list)
    # Tokens the running requests hold in the KV cache (prompt + generated so far).
    cached_tokens: int = 0
    preemptions: int = 0


def _error(message: str, status: int, kind: str, param: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "param": param, "code": status}},
        status=status,
    )


class VllmServer:
    def __init__(
        self,
        model: str,
        max_model_len: int | None,
        token_delay: float,
        metrics: Metrics,
        *,
        openai: bool = True,
    ) -> None:
        # `python -m vllm.entrypoints.api_server` (seed 003's command) is vLLM's demo
        # server: /health and /generate only; FastAPI answers every other path 404
        # {"detail": "Not Found"} (vllm/entrypoints/api_server.py). The OpenAI routes are
        # `vllm serve` / `vllm.entrypoints.openai.api_server`'s.
        self.openai = openai
        self.model = model
        self.max_model_len = max_model_len or 8192
        self.token_delay = token_delay
        self.metrics = metrics
        # The sandbox's KV cache holds four full-length sequences (a real one: what GPU
        # memory is left after the weights, --gpu-memory-utilization).
        self.kv_capacity = 4 * self.max_model_len

    async def dispatch(self, request: web.Request, path: str, body: bytes) -> web.StreamResponse:
        routes = {
            ("GET", "/health"): self.health,
            ("GET", "/version"): self.version,
            ("GET", "/metrics"): self.prometheus,
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/chat/completions"): self.chat,
            ("POST", "/v1/completions"): self.completions,
        }
        if not self.openai:
            routes = {("GET", "/health"): self.health, ("POST", "/generate"): self.generate}
        handler = routes.get((request.method, path))
        if handler is None:
            return web.json_response({"detail": "Not Found"}, status=404)
        data: dict[str, Any] = {}
        if request.method == "POST":
            try:
                parsed = json.loads(body or b"{}")
            except ValueError as exc:
                return _error(f"Invalid JSON: {exc}", 400, "BadRequestError")
            if not isinstance(parsed, dict):
                return _error("The request body must be a JSON object.", 400, "BadRequestError")
            data = parsed
        return await handler(request, data)

    async def health(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return web.Response(status=200)

    async def generate(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        """The demo server's /generate: {"prompt": ...} -> {"text": [prompt + output]}. It
        validates nothing: without a prompt its `request_dict.pop("prompt")` raises, which
        FastAPI answers 500 "Internal Server Error" (vllm/entrypoints/api_server.py)."""
        prompt = data.get("prompt")
        if not isinstance(prompt, str):
            return web.Response(status=500, text="Internal Server Error")
        reply = reply_for(self.model, prompt)
        return web.json_response({"text": [prompt + reply]})

    async def version(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        return web.json_response({"version": VERSION})

    async def models(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        card = {
            "id": self.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "vllm",
            "root": self.model,
            "parent": None,
            "max_model_len": self.max_model_len,
        }
        return web.json_response({"object": "list", "data": [card]})

    def _check(self, data: dict[str, Any]) -> web.Response | None:
        name = data.get("model")
        if name is not None and name != self.model:
            return _error(f"The model `{name}` does not exist.", 404, "NotFoundError", "model")
        return None

    async def chat(self, request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error("messages: Field required", 400, "BadRequestError", "messages")
        problem = self._check(data)
        if problem:
            return problem
        prompt = next(
            (
                str(m.get("content"))
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        context = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        return await self._generate(request, data, prompt, context, chat=True)

    async def completions(self, request: web.Request, data: dict[str, Any]) -> web.StreamResponse:
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return _error("prompt: Field required", 400, "BadRequestError", "prompt")
        problem = self._check(data)
        if problem:
            return problem
        return await self._generate(request, data, prompt, prompt, chat=False)

    async def _generate(
        self, request: web.Request, data: dict[str, Any], prompt: str, context: str, chat: bool
    ) -> web.StreamResponse:
        prompt_tokens = len(context.split())
        limit = data.get("max_completion_tokens", data.get("max_tokens"))
        if isinstance(limit, int) and prompt_tokens + limit > self.max_model_len:
            return _error(
                f"This model's maximum context length is {self.max_model_len} tokens. However, "
                f"you requested {prompt_tokens + limit} tokens.",
                400,
                "BadRequestError",
            )
        tokens = words(reply_for(self.model, prompt))
        reason = "stop"
        if isinstance(limit, int) and 0 < limit < len(tokens):
            tokens, reason = tokens[:limit], "length"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        started = time.monotonic()
        self.metrics.running += 1
        if self.metrics.cached_tokens + prompt_tokens > self.kv_capacity:
            self.metrics.preemptions += 1  # vLLM preempts a running request to make room
        self.metrics.cached_tokens += prompt_tokens
        try:
            if data.get("stream"):
                return await self._stream(request, data, tokens, reason, usage, chat, started)
            self.metrics.ttft_seconds.append(time.monotonic() - started)
            return web.json_response(self._whole(tokens, reason, usage, chat))
        finally:
            self.metrics.running -= 1
            self.metrics.cached_tokens -= prompt_tokens
            self.metrics.prompt_tokens += usage["prompt_tokens"]
            self.metrics.generation_tokens += usage["completion_tokens"]
            self.metrics.requests[reason] = self.metrics.requests.get(reason, 0) + 1
            self.metrics.e2e_seconds.append(time.monotonic() - started)

    def _base(self, chat: bool, chunk: bool) -> dict[str, Any]:
        kind = ("chat.completion" if chat else "text_completion") + (
            ".chunk" if chunk and chat else ""
        )
        prefix = "chatcmpl-" if chat else "cmpl-"
        return {
            "id": prefix + secrets.token_hex(16),
            "object": kind,
            "created": int(time.time()),
            "model": self.model,
        }

    def _whole(
        self, tokens: list[str], reason: str, usage: dict[str, int], chat: bool
    ) -> dict[str, Any]:
        text = "".join(tokens)
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": reason}
        if chat:
            choice["message"] = {"role": "assistant", "content": text, "reasoning": None}
        else:
            choice["text"] = text
        return {**self._base(chat, False), "choices": [choice], "usage": usage}

    async def _stream(
        self,
        request: web.Request,
        data: dict[str, Any],
        tokens: list[str],
        reason: str,
        usage: dict[str, int],
        chat: bool,
        started: float,
    ) -> web.StreamResponse:
        options = data.get("stream_options") if isinstance(data.get("stream_options"), dict) else {}
        include_usage = bool((options or {}).get("include_usage"))
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await resp.prepare(request)
        base = self._base(chat, True)

        async def send(payload: object) -> None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            await resp.write(f"data: {text}\n\n".encode())

        def choice(piece: str, finish: str | None, first: bool = False) -> dict[str, Any]:
            if chat:
                delta = {"role": "assistant", "content": piece} if first else {"content": piece}
                return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}

        if chat:
            await send({**base, "choices": [choice("", None, first=True)]})
        previous, held = started, 0
        try:
            for i, token in enumerate(tokens):
                last = i == len(tokens) - 1
                await send({**base, "choices": [choice(token, reason if last else None)]})
                now = time.monotonic()
                (self.metrics.itl_seconds if i else self.metrics.ttft_seconds).append(
                    now - previous
                )
                previous, held = now, held + 1
                self.metrics.cached_tokens += 1
                await asyncio.sleep(self.token_delay)
        finally:
            self.metrics.cached_tokens -= held
        if include_usage:
            await send({**base, "choices": [], "usage": usage})
        await send("[DONE]")
        await resp.write_eof()
        return resp

    async def prometheus(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        label = f'engine="0",model_name="{self.model}"'
        m = self.metrics
        total = sum(m.e2e_seconds)
        lines = [
            "# HELP vllm:num_requests_running Number of requests in model execution batches.",
            "# TYPE vllm:num_requests_running gauge",
            f"vllm:num_requests_running{{{label}}} {float(m.running)}",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
            "# TYPE vllm:num_requests_waiting gauge",
            f"vllm:num_requests_waiting{{{label}}} 0.0",
            "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
            "# TYPE vllm:kv_cache_usage_perc gauge",
            f"vllm:kv_cache_usage_perc{{{label}}} {min(1.0, m.cached_tokens / self.kv_capacity)}",
            "# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.",
            "# TYPE vllm:num_preemptions_total counter",
            f"vllm:num_preemptions_total{{{label}}} {float(m.preemptions)}",
            "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
            "# TYPE vllm:prompt_tokens_total counter",
            f"vllm:prompt_tokens_total{{{label}}} {float(m.prompt_tokens)}",
            "# HELP vllm:generation_tokens_total Number of generation tokens processed.",
            "# TYPE vllm:generation_tokens_total counter",
            f"vllm:generation_tokens_total{{{label}}} {float(m.generation_tokens)}",
            "# HELP vllm:request_success_total Count of successfully processed requests.",
            "# TYPE vllm:request_success_total counter",
            *(
                f'vllm:request_success_total{{{label},finished_reason="{r}"}} {float(n)}'
                for r, n in sorted(m.requests.items())
            ),
            "# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.",
            "# TYPE vllm:e2e_request_latency_seconds histogram",
            f'vllm:e2e_request_latency_seconds_bucket{{{label},le="+Inf"}} '
            f"{float(len(m.e2e_seconds))}",
            f"vllm:e2e_request_latency_seconds_count{{{label}}} {float(len(m.e2e_seconds))}",
            f"vllm:e2e_request_latency_seconds_sum{{{label}}} {total}",
            *_histogram(
                "vllm:time_to_first_token_seconds",
                "Histogram of time to first token in seconds.",
                label,
                m.ttft_seconds,
            ),
            *_histogram(
                "vllm:inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.",
                label,
                m.itl_seconds,
            ),
            "",
        ]
        return web.Response(
            text="\n".join(lines),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )


# vLLM's own buckets for its latency histograms (vllm/v1/metrics/loggers.py).
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)


def _histogram(name: str, help_text: str, label: str, values: list[float]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for bound in LATENCY_BUCKETS:
        count = sum(1 for v in values if v <= bound)
        lines.append(f'{name}_bucket{{{label},le="{bound}"}} {float(count)}')
    lines.append(f'{name}_bucket{{{label},le="+Inf"}} {float(len(values))}')
    lines.append(f"{name}_count{{{label}}} {float(len(values))}")
    lines.append(f"{name}_sum{{{label}}} {sum(values)}")
    return lines
