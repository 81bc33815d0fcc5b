"""The two upstream chat protocols, as pure functions: build the request, parse the stream.

Ollama's native API streams NDJSON (one JSON object per line, the last with
`"done": true` and the token counts); vLLM and Ollama's `/v1` stream OpenAI-style
server-sent events (`data: {...}` blocks, ending with `data: [DONE]`, usage in a
last chunk with empty `choices` when `stream_options.include_usage` is set).
Both can report an error in the middle of a 200 stream. The parsers turn either
into the same `Piece`s, so the rest of the proxy never asks which one it talks to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from deployments.targets.endpoint import Protocol

__all__ = ["Protocol"]


@dataclass(frozen=True)
class ChatParams:
    """What the playground may ask of a model; every field is optional but the messages."""

    model: str
    messages: list[dict[str, str]]
    system: str = ""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    think: bool = False

    def all_messages(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system.strip() else []
        return head + self.messages


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Piece:
    """One thing an upstream said: text, reasoning, counts, an error, or the end."""

    content: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    error: str | None = None
    done: bool = False
    finish_reason: str | None = None


def chat_request(protocol: Protocol, params: ChatParams) -> tuple[str, dict[str, Any]]:
    """The upstream path and JSON body for a streamed chat."""
    if protocol is Protocol.OLLAMA:
        options: dict[str, Any] = {}
        if params.temperature is not None:
            options["temperature"] = params.temperature
        if params.top_p is not None:
            options["top_p"] = params.top_p
        if params.max_tokens is not None:
            options["num_predict"] = params.max_tokens
        body: dict[str, Any] = {
            "model": params.model,
            "messages": params.all_messages(),
            "stream": True,
        }
        if options:
            body["options"] = options
        if params.think:
            body["think"] = True
        return "/api/chat", body
    body = {
        "model": params.model,
        "messages": params.all_messages(),
        "stream": True,
        # Exact counts for a streamed reply come only in this last chunk.
        "stream_options": {"include_usage": True},
    }
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.max_tokens is not None:
        body["max_tokens"] = params.max_tokens
    if params.think:
        # vLLM's Gemma 4 reasoning parser only sees thinking when the template turns it on.
        body["chat_template_kwargs"] = {"enable_thinking": True}
    return "/v1/chat/completions", body


def models_path(protocol: Protocol) -> str:
    return "/api/tags" if protocol is Protocol.OLLAMA else "/v1/models"


def model_names(protocol: Protocol, body: Any) -> list[str]:
    """Model names from /api/tags or /v1/models (base model and LoRA adapters alike)."""
    if not isinstance(body, dict):
        return []
    items = body.get("models") if protocol is Protocol.OLLAMA else body.get("data")
    key = "name" if protocol is Protocol.OLLAMA else "id"
    return [str(m[key]) for m in items or [] if isinstance(m, dict) and m.get(key)]


def error_text(body: bytes) -> str:
    """The human part of an upstream error body (Ollama, OpenAI, Google or HTML)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return _strip_html(text)[:300]
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed)
        if isinstance(err, dict):
            return str(err.get("message") or err)[:300]
        return str(err)[:300]
    return text[:300]


def _strip_html(text: str) -> str:
    out, inside = [], False
    for ch in text:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(ch)
    return " ".join("".join(out).split())


@dataclass
class _Lines:
    buffer: bytes = b""

    def feed(self, data: bytes, sep: bytes) -> list[bytes]:
        self.buffer += data
        if sep not in self.buffer:
            return []
        *whole, self.buffer = self.buffer.split(sep)
        return whole


@dataclass
class NdjsonParser:
    """Ollama /api/chat and /api/generate."""

    lines: _Lines = field(default_factory=_Lines)

    def feed(self, data: bytes) -> list[Piece]:
        return [p for line in self.lines.feed(data, b"\n") if (p := self._line(line))]

    def close(self) -> list[Piece]:
        rest, self.lines.buffer = self.lines.buffer, b""
        piece = self._line(rest)
        return [piece] if piece else []

    @staticmethod
    def _line(line: bytes) -> Piece | None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line)
        except ValueError:
            return Piece(error=f"The endpoint sent a line that is not JSON: {line[:80]!r}")
        if not isinstance(obj, dict):
            return None
        if "error" in obj:
            return Piece(error=str(obj["error"]))
        message = obj.get("message")
        if isinstance(message, dict):
            content = message.get("content") or ""
            reasoning = message.get("thinking") or ""
        else:  # /api/generate
            content, reasoning = obj.get("response") or "", obj.get("thinking") or ""
        piece = Piece(content=str(content), reasoning=str(reasoning))
        if obj.get("done"):
            piece.done = True
            piece.finish_reason = obj.get("done_reason")
            if "eval_count" in obj or "prompt_eval_count" in obj:
                piece.usage = Usage(
                    int(obj.get("prompt_eval_count") or 0), int(obj.get("eval_count") or 0)
                )
        return piece


@dataclass
class SseParser:
    """OpenAI-style server-sent events from vLLM and Ollama's /v1."""

    lines: _Lines = field(default_factory=_Lines)

    def feed(self, data: bytes) -> list[Piece]:
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        return [p for event in self.lines.feed(data, b"\n\n") if (p := self._event(event))]

    def close(self) -> list[Piece]:
        rest, self.lines.buffer = self.lines.buffer, b""
        piece = self._event(rest)
        return [piece] if piece else []

    @staticmethod
    def _event(event: bytes) -> Piece | None:
        data = b"\n".join(
            line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not data:
            return None  # a comment or keep-alive
        if data.strip() == b"[DONE]":
            return Piece(done=True)
        try:
            obj = json.loads(data)
        except ValueError:
            return Piece(error=f"The endpoint sent an event that is not JSON: {data[:80]!r}")
        if not isinstance(obj, dict):
            return None
        if "error" in obj:
            err = obj["error"]
            return Piece(error=str(err.get("message") if isinstance(err, dict) else err))
        piece = Piece()
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            piece.content += str(delta.get("content") or choice.get("text") or "")
            # vLLM renamed reasoning_content to reasoning; older servers still send the old name.
            piece.reasoning += str(delta.get("reasoning") or delta.get("reasoning_content") or "")
            piece.finish_reason = choice.get("finish_reason") or piece.finish_reason
        usage = obj.get("usage")
        if isinstance(usage, dict):
            piece.usage = Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            )
        return piece


def parser_for(protocol: Protocol) -> NdjsonParser | SseParser:
    return NdjsonParser() if protocol is Protocol.OLLAMA else SseParser()
