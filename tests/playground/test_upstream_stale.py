"""A pooled connection the endpoint has just closed costs no 502: a request that lands on
it before any byte of the reply came back goes once more on a fresh connection; a reply
broken off after bytes came back is not sent again (the model already answered part)."""

import asyncio
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from playground.upstream import UpstreamError, upstream_close, upstream_request

OK = b'{"ok": true}'


@dataclass
class Seen:
    connections: int = 0
    requests: int = 0
    per_connection: list[int] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> bool:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a peer that drops the connection does."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


Behaviour = Callable[[int, asyncio.StreamWriter], Awaitable[bool]]


async def _serve(behaviour: Behaviour) -> tuple[asyncio.Server, int, Seen]:
    """A raw HTTP/1.1 endpoint: `behaviour(n, writer)` answers the n-th request (from 1) on
    its connection and says whether the connection stays open."""
    seen = Seen()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        index = len(seen.per_connection)
        seen.per_connection.append(0)
        n = 0
        while await _read_request(reader):
            n += 1
            seen.requests += 1
            seen.per_connection[index] = n
            if not await behaviour(n, writer):
                return
        writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


def _answer(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(OK), OK)
    )


async def _post(port: int) -> bytes:
    async with upstream_request(
        method="POST",
        url=f"http://127.0.0.1:{port}/v1/chat/completions",
        headers={"Content-Type": "application/json"},
        body=b'{"messages": []}',
        started=time.monotonic(),
    ) as response:
        return await response.read()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_request_on_a_connection_the_endpoint_dropped_goes_again_on_a_fresh_one(how):
    """The keep-alive race: the endpoint closes its idle connection just as the next
    request is written on it. Here the endpoint drops every connection's second request
    unanswered, so the second call lands on the dropped one every time."""

    async def once_per_connection(n: int, writer: asyncio.StreamWriter) -> bool:
        if n == 1:
            _answer(writer)
            await writer.drain()
            return True
        if how == "reset":
            _reset(writer)
        else:
            writer.close()
        return False

    async def scenario() -> Seen:
        server, port, seen = await _serve(once_per_connection)
        try:
            assert await _post(port) == OK
            assert await _post(port) == OK  # the pooled connection, dropped, then a fresh one
        finally:
            await upstream_close()
            server.close()
        return seen

    seen = asyncio.run(scenario())
    assert seen.requests == 3
    assert seen.connections == 2
    assert seen.per_connection == [2, 1]


def test_a_reply_broken_off_after_bytes_came_back_is_not_sent_again():
    async def breaks_off(n: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b'1c\r\ndata: {"choices": ["half"]}\n\n\r\n'
        )
        await writer.drain()
        _reset(writer)
        return False

    async def scenario() -> tuple[Seen, UpstreamError | None]:
        server, port, seen = await _serve(breaks_off)
        caught = None
        try:
            await _post(port)
        except UpstreamError as exc:
            caught = exc
        finally:
            await upstream_close()
            server.close()
        return seen, caught

    seen, caught = asyncio.run(scenario())
    assert caught is not None and caught.status == 502
    assert seen.requests == 1


def test_a_refused_connection_is_not_retried_as_a_dropped_one():
    """Nothing listens: that is an unreachable endpoint (502 at once), not a stale connection."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario() -> UpstreamError:
        try:
            await _post(port)
        except UpstreamError as exc:
            return exc
        finally:
            await upstream_close()
        raise AssertionError("a refused connection answered")

    assert asyncio.run(scenario()).code == "upstream_unreachable"


def test_an_idle_pooled_connection_is_dropped_before_the_endpoint_drops_it(settings):
    """Hangar's keep-alive is shorter than the endpoint's: a connection idle past it is not
    reused, so Hangar is never the side writing on a connection about to be closed."""
    settings.PLAYGROUND = {**settings.PLAYGROUND, "UPSTREAM_KEEPALIVE_SECONDS": 0.2}

    async def keeps_alive(n: int, writer: asyncio.StreamWriter) -> bool:
        _answer(writer)
        await writer.drain()
        return True

    async def scenario() -> Seen:
        server, port, seen = await _serve(keeps_alive)
        try:
            await _post(port)
            await _post(port)  # at once: the pooled connection
            # Idle past Hangar's keep-alive (this endpoint keeps connections forever).
            await asyncio.sleep(0.6)
            await _post(port)
        finally:
            await upstream_close()
            server.close()
        return seen

    seen = asyncio.run(scenario())
    assert seen.per_connection == [2, 1]
