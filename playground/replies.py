"""What a proxy handler answers, independent of the server that sends it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx and similar proxies buffer responses unless told not to; SSE must not wait.
    "X-Accel-Buffering": "no",
}


@dataclass
class Reply:
    status: int
    body: bytes | AsyncIterator[bytes]
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # Runs once the reply is over, however it ended (sent, failed, client gone).
    on_close: Callable[[], Awaitable[None]] | None = None

    def also_on_close(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once the reply is over, after what on_close already runs."""
        first = self.on_close
        if first is None:
            self.on_close = callback
            return

        async def both() -> None:
            try:
                await first()
            finally:
                await callback()

        self.on_close = both


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data).encode())


def error_reply(status: int, code: str, message: str, **extra: Any) -> Reply:
    """Hangar's error shape, which OpenAI clients also read (`error.message`, `error.code`)."""
    return json_reply(
        status,
        {"error": {"code": code, "message": message, "type": "hangar_error", **extra}},
    )
