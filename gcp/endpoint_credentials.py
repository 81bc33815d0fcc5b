"""The credential Hangar adds to every call to a deployed endpoint: the rollout's smoke
test (a worker thread) and the playground's proxy (the event loop) both come here, with
the kind the target's endpoint declares (deployments/targets/endpoint.py).

Browsers and other platforms never hold it: it is added server-side. Cloud Run wants an
OIDC ID token whose audience is the service URL; a GKE model server, reached through its
cluster's API server proxy, wants the portal's Google access token and is proven by the
cluster's own CA. Minting is a blocking call to the metadata server (or a key file), so
tokens are cached until shortly before they expire. The event loop never mints: it
refreshes in a thread, one refresh per token at a time. A new credential kind adds its
strategy to STRATEGIES.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import google.auth
import google.auth.transport.requests
from google.oauth2 import id_token

from gcp.clients import SCOPES
from gcp.model_server import Credential
from gcp.settings import gcp_setting, id_token_refresh_margin


class UpstreamCredentialError(Exception):
    """Hangar could not get a credential for the endpoint (its own identity is at fault)."""


# The CA (base64 PEM) of the live cluster whose API server is at an endpoint (host or
# host:port); set by the clusters app at start-up (clusters/apps.py).
_cluster_ca_at: Callable[..., str] | None = None


def set_cluster_ca_lookup(lookup: Callable[..., str]) -> None:
    """Tell the GKE service proxy's strategy how to find a cluster's CA by its endpoint."""
    global _cluster_ca_at
    _cluster_ca_at = lookup


class UpstreamCredential(Protocol):
    async def headers(self, endpoint_url: str) -> dict[str, str]: ...
    def headers_now(self, endpoint_url: str) -> dict[str, str]: ...
    def trusted_ca_now(self, endpoint_url: str) -> str: ...


# A token with less left than this is not sent: the request could outlive it.
_MIN_LIFETIME = 30


@dataclass
class _Cached:
    token: str
    expires_at: float  # event-loop-independent wall clock (time.time())


class _Tokens:
    """Bearer tokens cached per key, refreshed off the event loop; `_mint` makes one."""

    def __init__(self) -> None:
        self._cache: dict[str, _Cached] = {}
        self._refreshing: dict[str, asyncio.Future[_Cached]] = {}
        self._lock = threading.Lock()

    def _mint(self, key: str) -> _Cached:
        raise NotImplementedError

    def trusted_ca_now(self, endpoint_url: str) -> str:
        """The CA (PEM) that proves the endpoint; empty: the system's public CAs."""
        return ""

    def _bearer_now(self, key: str) -> dict[str, str]:
        """For a caller with no event loop (a worker): mint in this thread if need be."""
        cached = self._cache.get(key)
        if cached is None or cached.expires_at - _now() <= _MIN_LIFETIME:
            cached = self._cache[key] = self._mint(key)
        return {"Authorization": f"Bearer {cached.token}"}

    async def _bearer(self, key: str) -> dict[str, str]:
        cached = await self._token(key)
        return {"Authorization": f"Bearer {cached.token}"}

    async def _token(self, key: str) -> _Cached:
        margin = id_token_refresh_margin()
        now = _now()
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at - now > margin:
            return cached
        if cached is not None and cached.expires_at - now > _MIN_LIFETIME:
            # Still good for a while: answer now, refresh beside the request.
            self._refresh(key)
            return cached
        return await asyncio.shield(self._refresh(key))

    def _refresh(self, key: str) -> asyncio.Future[_Cached]:
        """One refresh per key at a time; concurrent callers share it."""
        running = self._refreshing.get(key)
        if running is not None:
            return running
        future = asyncio.ensure_future(asyncio.to_thread(self._mint, key))
        self._refreshing[key] = future

        def finished(f: asyncio.Future[_Cached]) -> None:
            self._refreshing.pop(key, None)
            if not f.cancelled() and f.exception() is None:
                self._cache[key] = f.result()

        future.add_done_callback(finished)
        return future

    def forget(self) -> None:
        self._cache.clear()


def _expires_at(creds: Any) -> float:
    expiry = creds.expiry  # naive UTC, google-auth's convention
    return expiry.replace(tzinfo=datetime.UTC).timestamp() if expiry else _now() + 300.0


class CloudRunIdToken(_Tokens):
    """ID tokens for private Cloud Run services, cached per service URL (the audience)."""

    def __init__(self) -> None:
        super().__init__()
        self._credentials: dict[str, Any] = {}

    async def headers(self, endpoint_url: str) -> dict[str, str]:
        return await self._bearer(endpoint_url.rstrip("/"))

    def headers_now(self, endpoint_url: str) -> dict[str, str]:
        return self._bearer_now(endpoint_url.rstrip("/"))

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
        return _Cached(str(creds.token), _expires_at(creds))

    def forget(self) -> None:
        super().forget()
        self._credentials.clear()


class GkeProxyAccessToken(_Tokens):
    """The portal's Google access token on calls through a cluster's API server proxy.

    gke-gcloud-auth-plugin sends an OAuth access token of the caller's Google identity
    as the bearer token (https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication);
    the API server maps it to RBAC through IAM. One token serves every cluster. The API
    server's certificate is signed by the cluster's own CA, which Hangar read with
    get_cluster and keeps on its Cluster record: only that CA is trusted for it.
    """

    _KEY = "access-token"

    def __init__(self) -> None:
        super().__init__()
        self._credentials: Any = None

    async def headers(self, endpoint_url: str) -> dict[str, str]:
        return await self._bearer(self._KEY)

    def headers_now(self, endpoint_url: str) -> dict[str, str]:
        return self._bearer_now(self._KEY)

    def _mint(self, key: str) -> _Cached:
        # Its own google-auth credentials: the workers' Kubernetes client refreshes the
        # shared ones on its own schedule, in other threads.
        try:
            with self._lock:
                if self._credentials is None:
                    self._credentials, _ = google.auth.default(scopes=SCOPES)
                creds = self._credentials
                creds.refresh(google.auth.transport.requests.Request())
                return _Cached(str(creds.token), _expires_at(creds))
        except Exception as exc:  # google-auth raises several unrelated types
            raise UpstreamCredentialError(
                f"Hangar could not get a Google access token for the cluster: {exc}"
            ) from exc

    def trusted_ca_now(self, endpoint_url: str) -> str:
        """The CA of the cluster whose API server is at the URL's host (a database read,
        through the lookup the clusters app set)."""
        host = urlsplit(endpoint_url).netloc
        ca = _cluster_ca_at(endpoint=host) if host and _cluster_ca_at else ""
        if not ca:
            raise UpstreamCredentialError(
                f"Hangar knows no cluster whose API server is at {host or endpoint_url!r}, "
                "so it cannot tell that server is genuine; a platform admin can register "
                "the cluster again."
            )
        try:
            return base64.b64decode(ca, validate=True).decode("ascii")
        except (ValueError, UnicodeDecodeError) as exc:
            raise UpstreamCredentialError(
                "The cluster's CA on record is not a base64 PEM; register the cluster again."
            ) from exc

    def forget(self) -> None:
        super().forget()
        self._credentials = None


class GatewayInVpc:
    """No credential: an internal GKE Gateway (gke-l7-rilb) answers only inside its VPC, and
    the model servers behind it take no key (the lora-syncer that loads adapters into them
    sends none; gke_inference_gateway/README.md). Reaching the VPC is what protects them: the
    portal runs there, or goes through the VPC's HTTP proxy (vpc_proxy_for)."""

    async def headers(self, endpoint_url: str) -> dict[str, str]:
        return {}

    def headers_now(self, endpoint_url: str) -> dict[str, str]:
        return {}

    def trusted_ca_now(self, endpoint_url: str) -> str:
        return ""

    def forget(self) -> None:
        pass


def vpc_proxy_for(endpoint_url: str) -> str | None:
    """The HTTP proxy to send a request to `endpoint_url` through: GCP["VPC_HTTP_PROXY"]
    for an address inside the VPC (a private IP, as an internal Gateway has),
    GCP["PUBLIC_HTTP_PROXY"] for a public IP (an external Gateway's), else None.

    Both empty on Google Cloud, where the portal runs in the VPC and reaches the internet
    directly; the sandbox sets its own URL for both, standing in for the VPC and for the
    internet its made-up public addresses are on (sandbox/kube/gateway_proxy.py). A host
    name or a loopback address never goes through either.
    """
    host = urlsplit(endpoint_url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return None
    key = "VPC_HTTP_PROXY" if address.is_private else "PUBLIC_HTTP_PROXY"
    return str(gcp_setting(key) or "") or None


def _now() -> float:
    return datetime.datetime.now(datetime.UTC).timestamp()


_CLOUD_RUN = CloudRunIdToken()
_GKE_PROXY = GkeProxyAccessToken()

STRATEGIES: dict[str, UpstreamCredential] = {
    Credential.CLOUD_RUN_ID_TOKEN: _CLOUD_RUN,
    Credential.GKE_SERVICE_PROXY_ACCESS_TOKEN: _GKE_PROXY,
    Credential.GKE_GATEWAY_IN_VPC: GatewayInVpc(),
}


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


def upstream_trust_now(*, credential: str, endpoint_url: str) -> str:
    """The CA (PEM) to verify the endpoint against, empty for the system's; from a thread
    that may read the database (the playground's access check)."""
    return _strategy(credential).trusted_ca_now(endpoint_url)
