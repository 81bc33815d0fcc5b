"""The credential Hangar adds to every call to a deployed endpoint: the rollout's smoke
test (a worker thread) and the playground's proxy (the event loop) both come here, with
the kind the target's endpoint declares (deployments/targets/endpoint.py).

Browsers and other platforms never hold it: it is added server-side. Cloud Run wants an
OIDC ID token whose audience is the service URL; minting one is a blocking call to the
metadata server (or a key file), so tokens are cached per audience until shortly before
they expire. The event loop never mints: it refreshes in a thread, one refresh per
audience at a time. A new credential kind adds its strategy to STRATEGIES.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import google.auth.transport.requests
from django.conf import settings
from google.oauth2 import id_token

from deployments.targets.endpoint import Credential


class UpstreamCredentialError(Exception):
    """Hangar could not get a credential for the endpoint (its own identity is at fault)."""


class UpstreamCredential(Protocol):
    async def headers(self, endpoint_url: str) -> dict[str, str]: ...
    def headers_now(self, endpoint_url: str) -> dict[str, str]: ...


# A token with less left than this is not sent: the request could outlive it.
_MIN_LIFETIME = 30


@dataclass
class _Cached:
    token: str
    expires_at: float  # event-loop-independent wall clock (time.time())


class CloudRunIdToken:
    """ID tokens for private Cloud Run services, cached per service URL."""

    def __init__(self) -> None:
        self._cache: dict[str, _Cached] = {}
        self._refreshing: dict[str, asyncio.Future[_Cached]] = {}
        self._credentials: dict[str, Any] = {}
        self._lock = threading.Lock()

    async def headers(self, endpoint_url: str) -> dict[str, str]:
        cached = await self._token(endpoint_url.rstrip("/"))
        return {"Authorization": f"Bearer {cached.token}"}

    def headers_now(self, endpoint_url: str) -> dict[str, str]:
        """For a caller with no event loop (a worker): mint in this thread if need be."""
        audience = endpoint_url.rstrip("/")
        cached = self._cache.get(audience)
        if cached is None or cached.expires_at - _now() <= _MIN_LIFETIME:
            cached = self._cache[audience] = self._mint(audience)
        return {"Authorization": f"Bearer {cached.token}"}

    async def _token(self, audience: str) -> _Cached:
        margin = settings.PLAYGROUND["ID_TOKEN_REFRESH_MARGIN_SECONDS"]
        now = _now()
        cached = self._cache.get(audience)
        if cached is not None and cached.expires_at - now > margin:
            return cached
        if cached is not None and cached.expires_at - now > _MIN_LIFETIME:
            # Still good for a while: answer now, refresh beside the request.
            self._refresh(audience)
            return cached
        return await asyncio.shield(self._refresh(audience))

    def _refresh(self, audience: str) -> asyncio.Future[_Cached]:
        """One refresh per audience at a time; concurrent callers share it."""
        running = self._refreshing.get(audience)
        if running is not None:
            return running
        future = asyncio.ensure_future(asyncio.to_thread(self._mint, audience))
        self._refreshing[audience] = future

        def finished(f: asyncio.Future[_Cached]) -> None:
            self._refreshing.pop(audience, None)
            if not f.cancelled() and f.exception() is None:
                self._cache[audience] = f.result()

        future.add_done_callback(finished)
        return future

    def _mint(self, audience: str) -> _Cached:
        request = google.auth.transport.requests.Request()
        try:
            with self._lock:
                creds = self._credentials.get(audience)
                if creds is None:
                    creds = id_token.fetch_id_token_credentials(audience, request=request)
                    self._credentials[audience] = creds
            creds.refresh(request)
        except Exception as exc:  # google-auth raises several unrelated types
            raise UpstreamCredentialError(
                f"Hangar could not get an ID token for the endpoint: {exc}"
            ) from exc
        expiry = creds.expiry  # naive UTC, google-auth's convention
        expires_at = expiry.replace(tzinfo=datetime.UTC).timestamp() if expiry else _now() + 300.0
        return _Cached(str(creds.token), expires_at)

    def forget(self) -> None:
        self._cache.clear()
        self._credentials.clear()


def _now() -> float:
    return datetime.datetime.now(datetime.UTC).timestamp()


_CLOUD_RUN = CloudRunIdToken()

STRATEGIES: dict[str, UpstreamCredential] = {Credential.CLOUD_RUN_ID_TOKEN: _CLOUD_RUN}


def _strategy(credential: str) -> UpstreamCredential:
    strategy = STRATEGIES.get(credential)
    if strategy is None:
        raise UpstreamCredentialError(f"Hangar has no way to get a {credential!r} credential.")
    return strategy


async def upstream_headers(*, credential: str, endpoint_url: str) -> dict[str, str]:
    """The headers for one call from the event loop."""
    return await _strategy(credential).headers(endpoint_url)


def upstream_headers_now(*, credential: str, endpoint_url: str) -> dict[str, str]:
    """The headers for one call from a thread (a worker's smoke test)."""
    return _strategy(credential).headers_now(endpoint_url)
