"""The passthrough relays the endpoint's events whole, wherever one read ends and the next
begins: it cuts them with the same event-stream reader as the playground (protocols.py)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from playground import passthrough
from playground.access import Access
from playground.passthrough_request import passthrough_parse
from playground.protocols import Protocol, SseParser, Usage
from tests.playground.test_protocols import SSE_EXPECTED, sse_stream, summary

ACCESS = Access(
    1,
    "dev",
    7,
    1,
    "llm",
    "cloud-run-vllm",
    "http://127.0.0.1:1",
    Protocol.OPENAI,
    "none",
    "m",
    False,
)
REQUEST = passthrough_parse(
    route="chat/completions",
    method="POST",
    raw_body=b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}',
)


class _Content:
    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    async def iter_any(self) -> AsyncIterator[bytes]:
        for data in self.reads:
            yield data


class _Response:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = _Content(reads)


class _Context:
    async def __aexit__(self, *exc: object) -> None:
        return None


async def _relayed(reads: list[bytes]) -> tuple[bytes, passthrough._Stream]:
    stream = passthrough._Stream(_Context(), _Response(reads), ACCESS, REQUEST)  # type: ignore[arg-type]
    return b"".join([chunk async for chunk in stream.relay()]), stream


@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_relayed_events_are_whole_wherever_one_read_ends_and_the_next_begins(eol, monkeypatch):
    monkeypatch.setattr(passthrough, "_keep_usage", _keep_nothing)
    upstream = sse_stream(eol)
    for cut in range(len(upstream) + 1):
        relayed, stream = asyncio.run(_relayed([upstream[:cut], upstream[cut:]]))
        # What the client reads is the same stream, less the usage only Hangar asked for.
        pieces = SseParser().feed(relayed)
        assert [p.error for p in pieces if p.error] == [], (eol, cut)
        assert summary(pieces) == {**SSE_EXPECTED, "usage": []}, (eol, cut)
        assert relayed.endswith(b"data: [DONE]\n\n"), (eol, cut)
        assert stream.tally.usage == Usage(9, 3), (eol, cut)
        assert stream.tally.pieces == 3, (eol, cut)


async def _keep_nothing(*_: object, **__: object) -> None:
    return None


def test_a_relay_cancelled_while_its_usage_is_kept_keeps_it_all_the_same(monkeypatch):
    """The server cancels the relay when the client leaves (playground/asgi.py), which can
    be just as the stream's end keeps its usage (an id, a Redis round trip): that keeping
    runs to its end regardless, else the count waits for a recovery or is lost."""
    kept: list[bool] = []

    async def keep(usage_of: object, usage_id: int | None = None, *, final: bool = True) -> int:
        await asyncio.sleep(0.2)
        kept.append(final)
        return 1

    monkeypatch.setattr(passthrough, "usage_keep", keep)

    async def scenario() -> list[bool]:
        stream = passthrough._Stream(_Context(), _Response([sse_stream(b"\n")]), ACCESS, REQUEST)  # type: ignore[arg-type]

        async def pump() -> None:
            async for _ in stream.relay():
                pass

        task = asyncio.ensure_future(pump())
        await asyncio.sleep(0.1)  # relayed; its end is keeping the usage
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)
        return kept

    assert asyncio.run(scenario()) == [True]
