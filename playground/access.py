"""Who is calling, and which endpoint they may reach: Django's own auth, checked once per burst.

Sign-in is Django's session and `get_user` (the session hash check included); API
tokens go through the same `ApiTokenAuthentication` the REST API uses; the team
check is the portal's `teams_visible_to`. Only members of the deployment's team
get through (a platform admin sees every deployment but chats only with their
teams'). The upstream URL is read from the deployment row, never from the request.

A stream's checks take a few queries; a burst of streams from one caller shares
one check (in flight and for ACCESS_CACHE_SECONDS after), so the proxy's added
latency stays flat as concurrency grows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from rest_framework import exceptions as drf_exceptions

from deployments.choices import Status
from deployments.models import Deployment
from deployments.targets import spec_for, target_for
from playground.db import run_db
from playground.protocols import Protocol
from portal.access import teams_visible_to
from portal.authentication import ApiTokenAuthentication
from portal.exceptions import ApplicationError, InvalidTransition, NotFound, PermissionDenied
from portal.models import ApiToken, TokenScope
from portal.tokens import token_hash
from workers.gcp.endpoint_credentials import UpstreamCredentialError, upstream_trust_now


class NotSignedIn(ApplicationError):
    code = "not_authenticated"
    http_status = 401


class UntrustedEndpoint(ApplicationError):
    """Hangar cannot tell the endpoint is genuine (no CA on record for it)."""

    code = "upstream_credential"
    http_status = 502


@dataclass(frozen=True)
class Access:
    user_id: int
    username: str
    token_id: int | None
    deployment_id: int
    slug: str
    target: str
    endpoint_url: str
    protocol: Protocol
    credential: str
    default_model: str
    supports_reasoning: bool
    # The CA (PEM) the endpoint proves itself with; empty: the system's public CAs.
    ca_pem: str = ""


@dataclass(frozen=True)
class _HasSession:
    """What django.contrib.auth.get_user reads from a request: its session."""

    session: Any


@dataclass(frozen=True)
class _HasHeader:
    """What ApiTokenAuthentication reads from a request: its Authorization header."""

    META: dict[str, str]


def _access(user: Any, token: ApiToken | None, deployment_id: int) -> Access:
    deployment = Deployment.objects.filter(
        pk=deployment_id, team__in=teams_visible_to(user=user, token=token)
    ).first()
    if deployment is None:
        raise NotFound(f"No deployment {deployment_id} among your teams'.")
    if deployment.status != Status.READY or not deployment.endpoint_url:
        raise InvalidTransition(
            f"{deployment.slug} is {deployment.get_status_display().lower()}, not ready: "
            "there is no endpoint to talk to yet."
        )
    # The target says what its server speaks, wants and serves; the URL is the row's.
    endpoint = target_for(deployment).endpoint(spec_for(deployment))
    try:
        ca_pem = upstream_trust_now(
            credential=endpoint.credential, endpoint_url=deployment.endpoint_url
        )
    except UpstreamCredentialError as exc:
        raise UntrustedEndpoint(str(exc)) from exc
    return Access(
        user_id=user.pk,
        username=user.get_username(),
        token_id=token.pk if token else None,
        deployment_id=deployment.pk,
        slug=deployment.slug,
        target=deployment.target,
        endpoint_url=deployment.endpoint_url,
        protocol=endpoint.protocol,
        credential=endpoint.credential,
        default_model=endpoint.served_models[0],
        supports_reasoning=endpoint.reasoning,
        ca_pem=ca_pem,
    )


def access_by_session(session_key: str, deployment_id: int) -> Access:
    engine = import_module(settings.SESSION_ENGINE)
    user = auth.get_user(_HasSession(engine.SessionStore(session_key)))  # type: ignore[arg-type]
    if not user.is_authenticated:
        raise NotSignedIn("Sign in to use the playground.")
    return _access(user, None, deployment_id)


def access_by_token(authorization: str, deployment_id: int) -> Access:
    try:
        found = ApiTokenAuthentication().authenticate(
            _HasHeader({"HTTP_AUTHORIZATION": authorization})  # type: ignore[arg-type]
        )
    except drf_exceptions.AuthenticationFailed as exc:
        raise NotSignedIn(str(exc.detail)) from exc
    if found is None:
        raise NotSignedIn("Send a team API token as 'Authorization: Bearer hgr_…'.")
    user, token = found
    if token.scope != TokenScope.TEAM:
        raise PermissionDenied("An approval token only approves or rejects requests.")
    return _access(user, token, deployment_id)


class _Shared:
    """Answers per key, shared by concurrent callers and kept for a few seconds."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, int], tuple[float, Access]] = {}
        self._running: dict[tuple[str, str, int], asyncio.Future[Access]] = {}

    async def get(self, key: tuple[str, str, int], resolve: Any, *args: Any) -> Access:
        ttl = settings.PLAYGROUND["ACCESS_CACHE_SECONDS"]
        hit = self._done.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        running = self._running.get(key)
        if running is None or running.get_loop() is not asyncio.get_running_loop():
            running = asyncio.ensure_future(run_db(resolve, *args))
            self._running[key] = running
            running.add_done_callback(lambda f: self._settle(key, f, ttl))
        return await asyncio.shield(running)

    def _settle(
        self, key: tuple[str, str, int], future: asyncio.Future[Access], ttl: float
    ) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        if ttl > 0 and not future.cancelled() and future.exception() is None:
            if len(self._done) > 10_000:
                now = time.monotonic()
                self._done = {k: v for k, v in self._done.items() if v[0] > now}
            self._done[key] = (time.monotonic() + ttl, future.result())

    def clear(self) -> None:
        self._done.clear()


_shared = _Shared()


async def access_for_session(session_key: str | None, deployment_id: int) -> Access:
    if not session_key:
        raise NotSignedIn("Sign in to use the playground.")
    return await _shared.get(
        ("s", session_key, deployment_id), access_by_session, session_key, deployment_id
    )


async def access_for_token(authorization: str | None, deployment_id: int) -> Access:
    if not authorization:
        raise NotSignedIn("Send a team API token as 'Authorization: Bearer hgr_…'.")
    key = ("t", token_hash(authorization), deployment_id)
    return await _shared.get(key, access_by_token, authorization, deployment_id)


def access_cache_clear() -> None:
    _shared.clear()
