"""Talking to a deployed endpoint: one pooled aiohttp session, cold starts, clear errors.

aiohttp rather than httpx: under hundreds of concurrent streams httpx's pool adds
seconds to the first token (reference/reliability.md §A; the benchmark here
shows the same). The session never follows redirects or reads proxy settings
from the environment, and sends only the headers built here (SSRF hygiene).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from django.conf import settings

from gcp.endpoint_credentials import vpc_proxy_for
from gcp.text import error_text
from telemetry.instruments import PROXY_STREAMS_OPEN, PROXY_UPSTREAM_ERRORS


@dataclass
class UpstreamError(Exception):
    """Something the endpoint did, told the way a person can act on it."""

    status: int  # what Hangar answers with
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def upstream_error(
    status: int, body: bytes, sent: dict[str, str] | None = None, refused_hint: str = ""
) -> UpstreamError:
    """Hangar's error for an endpoint's; `sent` are the headers Hangar sent it, whose values
    never come back in the message even if the endpoint echoes them. `refused_hint`: what
    this endpoint checks when it refuses Hangar's credential (its target's access hint)."""
    for value in (sent or {}).values():
        if len(value) >= 8:
            body = body.replace(value.encode(), b"[redacted]")
    detail = error_text(body)
    if status in (401, 403):
        return UpstreamError(
            502,
            "upstream_auth",
            f"The endpoint refused Hangar's credential (HTTP {status}). "
            + (
                refused_hint
                or "Hangar's service account may have lost the invoker role on this service."
            )
            + " Ask a platform admin.",
        )
    if status == 429:
        return UpstreamError(
            429,
            "upstream_busy",
            f"The endpoint is busy (HTTP 429: {detail}). Wait a moment and send again.",
        )
    if status in (400, 404, 422):
        return UpstreamError(status, "upstream_rejected", f"The endpoint said: {detail}")
    return UpstreamError(502, "upstream_error", f"The endpoint failed (HTTP {status}: {detail}).")


def cold_start_timeout(waited: float) -> UpstreamError:
    return UpstreamError(
        504,
        "upstream_timeout",
        f"The endpoint sent nothing for {waited:.0f} s. A service scaled to zero may still be "
        "loading its model; try again in a minute.",
    )


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)
_fresh_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def _session(
    kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession],
    **connector: Any,
) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = kept.get(loop)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, **connector),
            trust_env=False,
            auto_decompress=True,
        )
        kept[loop] = session
    return session


def upstream_session() -> aiohttp.ClientSession:
    """The pooled session. An idle connection is dropped after UPSTREAM_KEEPALIVE_SECONDS,
    shorter than the endpoint's own keep-alive (vLLM's uvicorn closes after 5 s), so Hangar
    is never the side writing on a connection the endpoint is closing."""
    keepalive = float(settings.PLAYGROUND["UPSTREAM_KEEPALIVE_SECONDS"])
    return _session(_sessions, keepalive_timeout=keepalive)


def _fresh_session() -> aiohttp.ClientSession:
    """A session whose every connection is new and closed after its one request."""
    return _session(_fresh_sessions, force_close=True)


async def upstream_close() -> None:
    loop = asyncio.get_running_loop()
    for kept in (_sessions, _fresh_sessions):
        session = kept.pop(loop, None)
        if session is not None:
            await session.close()


async def _send(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout: Any,
    tls: ssl.SSLContext | bool = True,
) -> aiohttp.ClientResponse:
    """The endpoint's response; sent once more, on a fresh connection, if the pooled one
    was dropped before any byte of the reply came back.

    That is the keep-alive race: the endpoint closes an idle connection just as a request
    is written on it. aiohttp retries it only for idempotent methods, and on the same pool,
    where the next idle connection may be as stale. Nothing was answered, so the model did
    no work worth keeping; a reply broken off later is not sent again (upstream_request).
    """
    options: dict[str, Any] = {
        "data": body,
        "headers": headers,
        "timeout": timeout,
        "allow_redirects": False,
        "ssl": tls,
        "proxy": vpc_proxy_for(url),  # an internal Gateway's VPC address
    }
    try:
        return await upstream_session().request(method, url, **options)
    except aiohttp.ClientConnectorError:
        raise  # no connection at all: the endpoint is unreachable, not a stale connection
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
        return await _fresh_session().request(method, url, **options)


@functools.lru_cache(maxsize=256)
def _trusting(ca_pem: str) -> ssl.SSLContext:
    """A context that trusts only `ca_pem` (a GKE cluster's own CA), hostname checked.
    One per CA: aiohttp pools connections per context, and making one parses the CA."""
    return ssl.create_default_context(cadata=ca_pem)


# Cloud Run answers 503 while no instance can take the request yet; worth waiting out.
_RETRY_STATUSES = frozenset({503})


async def _served(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    started: float,
    ca_pem: str = "",
) -> aiohttp.ClientResponse:
    """The first response that is not a 503 worth waiting out, not yet checked or read.

    Before upstream_request's try on purpose: a failure here has no response to close.
    """
    cfg = settings.PLAYGROUND
    limit = cfg["COLD_START_LIMIT_SECONDS"]
    timeout = aiohttp.ClientTimeout(
        total=None,
        sock_connect=cfg["CONNECT_TIMEOUT_SECONDS"],
        sock_read=max(limit, cfg["IDLE_LIMIT_SECONDS"]),
    )
    pause = 0.5
    while True:
        try:
            response = await _send(
                method=method,
                url=url,
                headers=headers,
                body=body,
                timeout=timeout,
                tls=_trusting(ca_pem) if ca_pem else True,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise cold_start_timeout(time.monotonic() - started) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                502, "upstream_unreachable", f"Hangar could not reach the endpoint: {exc}"
            ) from exc
        if response.status in _RETRY_STATUSES and time.monotonic() - started + pause < limit:
            response.release()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
            continue
        return response


@asynccontextmanager
async def upstream_request(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    started: float,
    ca_pem: str = "",
    refused_hint: str = "",
) -> AsyncIterator[aiohttp.ClientResponse]:
    """An open response with status 2xx, retrying 503s until the cold-start limit.

    `ca_pem`: the only CA the endpoint's certificate may chain to (empty: the system's).
    Raises UpstreamError for any other status, a timeout or an unreachable host.
    """
    try:
        response = await _served(
            method=method, url=url, headers=headers, body=body, started=started, ca_pem=ca_pem
        )
    except UpstreamError as exc:
        PROXY_UPSTREAM_ERRORS.labels(upstream_status=exc.code).inc()  # no HTTP status came
        raise
    PROXY_STREAMS_OPEN.inc()
    try:
        if response.status >= 300:
            PROXY_UPSTREAM_ERRORS.labels(upstream_status=str(response.status)).inc()
            raise upstream_error(
                response.status, await response.content.read(4096), headers, refused_hint
            )
        yield response
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        PROXY_UPSTREAM_ERRORS.labels(upstream_status="upstream_timeout").inc()
        raise UpstreamError(
            504, "upstream_timeout", "The endpoint stopped sending in the middle of the reply."
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        PROXY_UPSTREAM_ERRORS.labels(upstream_status="upstream_broken").inc()
        raise UpstreamError(
            502, "upstream_broken", f"The endpoint broke off the reply: {exc}"
        ) from exc
    finally:
        PROXY_STREAMS_OPEN.dec()
        if response.content.at_eof():
            response.release()  # back to the pool for the next request
        else:
            # Closing a half-read response drops the connection, which is how the
            # endpoint learns that nobody is listening any more.
            response.close()


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` bytes (an endpoint is trusted for
    nothing, not even the size of what it sends)."""
    chunks, size = [], 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def json_headers(extra: dict[str, Any]) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "*/*", **extra}
