"""The credential Hangar adds to each upstream request, per deployment target.

The browser and other platforms never hold it: it is added here, server-side.
Cloud Run wants an OIDC ID token whose audience is the service URL; minting one
is a blocking call to the metadata server (or a key file), so tokens are cached
per audience until shortly before they expire and refreshed in a thread, never
on the event loop. A GKE target adds its own strategy to CREDENTIALS.
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

from deployments.choices import Target


class UpstreamCredentialError(Exception):
    """Hangar could not get a credential for the endpoint (its own identity is at fault)."""


class UpstreamCredential(Protocol):
    async def headers(self, endpoint_url: str) -> dict[str, str]: ...


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

    async def _token(self, audience: str) -> _Cached:
        margin = settings.PLAYGROUND["ID_TOKEN_REFRESH_MARGIN_SECONDS"]
        now = _now()
        cached = self._cache.get(audience)
        if cached is not None and cached.expires_at - now > margin:
            return cached
        if cached is not None and cached.expires_at - now > 30:
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

# A target missing here has no way to reach its endpoint yet; the GKE targets add theirs.
CREDENTIALS: dict[str, UpstreamCredential] = {
    Target.CLOUD_RUN_OLLAMA: _CLOUD_RUN,
    Target.CLOUD_RUN_VLLM: _CLOUD_RUN,
}


async def upstream_headers(*, target: str, endpoint_url: str) -> dict[str, str]:
    strategy = CREDENTIALS.get(target)
    if strategy is None:
        raise UpstreamCredentialError(f"Hangar cannot call {target} endpoints yet.")
    return await strategy.headers(endpoint_url)
