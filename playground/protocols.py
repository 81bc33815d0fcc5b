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
import re
from dataclasses import dataclass, field
from typing import Any

from deployments.targets.endpoint import Protocol
from gcp.text import clean_text

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


MODEL_NAMES_MAX = 1000
MODEL_NAME_MAX = 200


def model_names(protocol: Protocol, body: Any) -> list[str]:
    """Model names from /api/tags or /v1/models (base model and LoRA adapters alike)."""
    if not isinstance(body, dict):
        return []
    items = body.get("models") if protocol is Protocol.OLLAMA else body.get("data")
    key = "name" if protocol is Protocol.OLLAMA else "id"
    names = [
        m[key][:MODEL_NAME_MAX]
        for m in (items if isinstance(items, list) else [])[:MODEL_NAMES_MAX]
        if isinstance(m, dict) and isinstance(m.get(key), str) and m[key]
    ]
    return [clean_text(name) for name in names]


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
        except (ValueError, RecursionError):
            return Piece(error=f"The endpoint sent a line that is not JSON: {_shown(line)}")
        if not isinstance(obj, dict):
            return None
        if "error" in obj:
            return Piece(error=_error_message(obj["error"]))
        message = obj.get("message")
        if isinstance(message, dict):
            content = message.get("content") or ""
            reasoning = message.get("thinking") or ""
        else:  # /api/generate
            content, reasoning = obj.get("response") or "", obj.get("thinking") or ""
        piece = Piece(content=str(content), reasoning=str(reasoning))
        if obj.get("done"):
            piece.done = True
            piece.finish_reason = _short(obj.get("done_reason"))
            if "eval_count" in obj or "prompt_eval_count" in obj:
                piece.usage = Usage(
                    token_count(obj.get("prompt_eval_count")), token_count(obj.get("eval_count"))
                )
        return piece


_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass
class SseEvents:
    """A server-sent event stream cut into events, whatever the reads it arrives in.

    As the WHATWG rules read a stream
    (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
    a line ends at CRLF, LF or CR, and a blank line ends an event. A CR that ends a read
    is held until the next read says whether an LF follows it. Each event is given as
    its lines joined by LF. The one reader of event streams: the playground's parser
    and the OpenAI passthrough's relay both use it.
    """

    buffer: bytes = b""
    lines: list[bytes] = field(default_factory=list)

    def feed(self, data: bytes) -> list[bytes]:
        """The events `data` finishes."""
        return self._cut(self.buffer + data, hold_cr=True)

    def end(self) -> tuple[list[bytes], bytes]:
        """At the end of the stream: the events a last CR finished, and the event the
        endpoint left unfinished (b"" if none), which the spec drops; it is given here so
        that no last word is lost."""
        events = self._cut(self.buffer, hold_cr=False)
        rest = b"\n".join([*self.lines, self.buffer] if self.buffer else self.lines)
        self.buffer, self.lines = b"", []
        return events, rest

    def _cut(self, buffer: bytes, *, hold_cr: bool) -> list[bytes]:
        held = b"\r" if hold_cr and buffer.endswith(b"\r") else b""
        *whole, rest = _LINE_END.split(buffer[: len(buffer) - len(held)])
        self.buffer = rest + held
        events = []
        for line in whole:
            if line:
                self.lines.append(line)
            elif self.lines:
                events.append(b"\n".join(self.lines))
                self.lines = []
        return events


def sse_data(event: bytes) -> bytes:
    """An event's data: its `data` fields' values joined by LF (one space after the
    colon dropped), b"" for an event without data, such as a comment or keep-alive."""
    values = [
        line[6:] if line.startswith(b"data: ") else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:") or line == b"data"
    ]
    return b"\n".join(values)


@dataclass
class SseParser:
    """OpenAI-style server-sent events from vLLM and Ollama's /v1."""

    events: SseEvents = field(default_factory=SseEvents)

    def feed(self, data: bytes) -> list[Piece]:
        return [p for event in self.events.feed(data) if (p := self._event(event))]

    def close(self) -> list[Piece]:
        events, rest = self.events.end()
        return [p for event in [*events, rest] if (p := self._event(event))]

    @staticmethod
    def _event(event: bytes) -> Piece | None:
        data = sse_data(event)
        if not data:
            return None  # a comment or keep-alive
        if data.strip() == b"[DONE]":
            return Piece(done=True)
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            return Piece(error=f"The endpoint sent an event that is not JSON: {_shown(data)}")
        if not isinstance(obj, dict):
            return None
        if "error" in obj:
            return Piece(error=_error_message(obj["error"]))
        piece = Piece()
        choices = obj.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            piece.content += str(delta.get("content") or choice.get("text") or "")
            # vLLM renamed reasoning_content to reasoning; older servers still send the old name.
            piece.reasoning += str(delta.get("reasoning") or delta.get("reasoning_content") or "")
            piece.finish_reason = _short(choice.get("finish_reason")) or piece.finish_reason
        usage = obj.get("usage")
        if isinstance(usage, dict):
            piece.usage = Usage(
                token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
            )
        return piece


def token_count(value: Any) -> int:
    """A token count from an endpoint, which is trusted for nothing, not even its types."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), 2**31 - 1)


def _short(value: Any) -> str | None:
    return clean_text(value, 40) if isinstance(value, str) and value else None


def _shown(data: bytes) -> str:
    return repr(clean_text(data[:200].decode("utf-8", "replace"), 80))


def _error_message(err: Any) -> str:
    if isinstance(err, dict):
        err = err.get("message")
    return clean_text(err) if isinstance(err, str) else "The endpoint reported an error."


def parser_for(protocol: Protocol) -> NdjsonParser | SseParser:
    return NdjsonParser() if protocol is Protocol.OLLAMA else SseParser()
