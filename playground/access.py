"""Who is calling, and which endpoint they may reach: Django's own auth, checked once per burst.

Sign-in is Django's session and `get_user` (the session hash check included); API
tokens go through the same `ApiTokenAuthentication` the REST API uses; the team
check is the portal's `teams_visible_to`. Only members of the deployment's team
get through (a platform admin sees every deployment but chats only with their
teams'). The upstream URL is read from the deployment row, never from the request.

On Postgres, on the server's event loop (production), a new caller costs one indexed
read for a token, two for a session, awaited on psycopg's async pool and batched with the
other callers of the same instant (playground/access_sql.py): no thread pool, no ORM, so
200 new callers do not queue behind the interpreter lock. The endpoint's facts (protocol,
credential, CA) are worked out once per deployment row and ACCESS_CACHE_SECONDS.
Concurrent streams of one caller share one check while it is in flight; a token's answer
is kept for ACCESS_CACHE_SECONDS (a revoked token is refused within that), a session's is
not (a sign-out takes effect at once). Elsewhere (SQLite, another session engine) the same
checks run through the ORM on playground/db.py's threads, kept for ACCESS_CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import psycopg
from django.conf import settings
from django.contrib import auth
from django.db import DatabaseError
from django.utils import timezone
from rest_framework import exceptions as drf_exceptions

from deployments.choices import Status
from deployments.models import Deployment
from deployments.plans import ref_for
from deployments.targets import spec_for, target_for
from gcp.endpoint_credentials import UpstreamCredentialError, upstream_trust_now
from playground import access_sql
from playground.db import run_db
from playground.protocols import Protocol
from portal.access import teams_visible_to
from portal.authentication import _LAST_USED_RESOLUTION as LAST_USED_RESOLUTION
from portal.authentication import ApiTokenAuthentication
from portal.exceptions import ApplicationError, InvalidTransition, NotFound, PermissionDenied
from portal.models import ApiToken, TokenScope
from portal.tokens import token_hash, token_matches, token_parse_prefix


class NotSignedIn(ApplicationError):
    code = "not_authenticated"
    http_status = 401


class DatabaseAway(ApplicationError):
    """Postgres did not answer (even on a fresh connection): a moment's outage, not a bug."""

    code = "database_unavailable"
    http_status = 503


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
    # What the endpoint checks when it refuses Hangar's credential (its target's words).
    access_hint: str = ""
    # model → the headers a request for it carries (an Inference Gateway's objective).
    model_headers: Callable[[str], dict[str, str]] = lambda _model: {}


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
    return _grant(
        user.pk, user.get_username(), token.pk if token else None, deployment_id, deployment
    )


@dataclass(frozen=True)
class _EndpointFacts:
    """What a deployment row says of its endpoint, whoever calls."""

    protocol: Protocol
    credential: str
    default_model: str
    supports_reasoning: bool
    ca_pem: str
    model_headers: Callable[[str], dict[str, str]]


def _ready(deployment_id: int, deployment: Deployment | None) -> Deployment:
    """The deployment, if the caller found it among their teams' and it has an endpoint."""
    if deployment is None:
        raise NotFound(f"No deployment {deployment_id} among your teams'.")
    if deployment.status == Status.TORN_DOWN:
        raise InvalidTransition(f"{deployment.slug} was torn down: its endpoint is gone.")
    if deployment.status != Status.READY or not deployment.endpoint_url:
        raise InvalidTransition(
            f"{deployment.slug} is {deployment.get_status_display().lower()}, not ready: "
            "there is no endpoint to talk to yet."
        )
    return deployment


def _endpoint_facts(deployment: Deployment) -> _EndpointFacts:
    """From a thread: the CA may be a database read (a GKE cluster's)."""
    # The target says what its server speaks, wants and serves; the URL is the row's.
    endpoint = target_for(deployment).endpoint(spec_for(deployment))
    try:
        ca_pem = upstream_trust_now(
            credential=endpoint.credential, endpoint_url=deployment.endpoint_url
        )
    except UpstreamCredentialError as exc:
        raise UntrustedEndpoint(str(exc)) from exc
    # The row as read on the fast path has neither its team nor its attempt: its identity
    # needs both. Deleted since it was read, it is no deployment of the caller's.
    full = Deployment.objects.select_related("team").filter(pk=deployment.pk).first()
    if full is None:
        raise NotFound(f"No deployment {deployment.pk} among your teams'.")
    return _EndpointFacts(
        protocol=endpoint.protocol,
        credential=endpoint.credential,
        default_model=endpoint.served_models[0],
        supports_reasoning=endpoint.reasoning,
        ca_pem=ca_pem,
        model_headers=functools.partial(
            target_for(full).request_headers, ref_for(full), spec_for(full)
        ),
    )


def _access_of(
    user_id: int, username: str, token_id: int | None, deployment: Deployment, facts: _EndpointFacts
) -> Access:
    return Access(
        user_id=user_id,
        username=username,
        token_id=token_id,
        deployment_id=deployment.pk,
        slug=deployment.slug,
        target=deployment.target,
        endpoint_url=deployment.endpoint_url,
        protocol=facts.protocol,
        credential=facts.credential,
        default_model=facts.default_model,
        supports_reasoning=facts.supports_reasoning,
        ca_pem=facts.ca_pem,
        model_headers=facts.model_headers,
    )


def _grant(
    user_id: int,
    username: str,
    token_id: int | None,
    deployment_id: int,
    deployment: Deployment | None,
) -> Access:
    """What the caller may reach, once it is known who they are and that `deployment` (None:
    none by that id among their teams') is theirs."""
    ready = _ready(deployment_id, deployment)
    return _access_of(user_id, username, token_id, ready, _endpoint_facts(ready))


_facts: dict[tuple[Any, ...], tuple[float, _EndpointFacts]] = {}


async def _grant_async(
    user_id: int,
    username: str,
    token_id: int | None,
    deployment_id: int,
    deployment: Deployment | None,
) -> Access:
    """_grant for the event loop: the endpoint's facts come from a thread once per row
    version and ACCESS_CACHE_SECONDS, not once per caller."""
    ready = _ready(deployment_id, deployment)
    key = (ready.pk, ready.endpoint_url, ready.target, ready.model, repr(ready.spec))
    hit = _facts.get(key)
    if hit is None or hit[0] <= time.monotonic():
        facts = await run_db(_endpoint_facts, ready)
        if len(_facts) > 1000:
            _facts.clear()
        _facts[key] = (time.monotonic() + settings.PLAYGROUND["ACCESS_CACHE_SECONDS"], facts)
    else:
        facts = hit[1]
    return _access_of(user_id, username, token_id, ready, facts)


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


async def _session_access(session_key: str, deployment_id: int) -> Access:
    if not access_sql.fast_path_enabled():
        return await run_db(access_by_session, session_key, deployment_id)
    caller = await access_sql.session_caller(session_key, deployment_id)
    if caller is None:
        raise NotSignedIn("Sign in to use the playground.")
    return await _grant_async(
        caller.user_id, caller.username, None, deployment_id, caller.deployment
    )


async def _token_access(authorization: str, deployment_id: int) -> Access:
    """ApiTokenAuthentication's checks, in its order and words, on one indexed read."""
    if not access_sql.fast_path_enabled():
        return await run_db(access_by_token, authorization, deployment_id)
    scheme, _, raw = authorization.partition(" ")
    if scheme != ApiTokenAuthentication.keyword or not raw:
        raise NotSignedIn("Send a team API token as 'Authorization: Bearer hgr_…'.")
    secret = raw.strip()
    prefix = token_parse_prefix(secret)
    if prefix is None:
        raise NotSignedIn("Malformed API token.")
    found = await access_sql.token_row(prefix, deployment_id)
    if found is None or not token_matches(secret, found.token.key_hash):
        raise NotSignedIn("Invalid API token.")
    token = found.token
    if not token.is_usable:
        raise NotSignedIn("This API token is revoked or expired.")
    if not found.owner_active:
        raise NotSignedIn("The owner of this API token is inactive.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        access_sql.token_mark_used_later(token.pk, now)
    if token.scope != TokenScope.TEAM:
        raise PermissionDenied("An approval token only approves or rejects requests.")
    return await _grant_async(
        found.user_id, found.username, token.pk, deployment_id, found.deployment
    )


class _Shared:
    """Answers per key, shared by concurrent callers and kept for a few seconds."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, int], tuple[float, Access]] = {}
        self._running: dict[tuple[str, str, int], asyncio.Future[Access]] = {}

    async def get(
        self,
        key: tuple[str, str, int],
        resolve: Callable[[], Coroutine[Any, Any, Access]],
        ttl: float,
    ) -> Access:
        hit = self._done.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        running = self._running.get(key)
        if running is None or running.get_loop() is not asyncio.get_running_loop():
            running = asyncio.ensure_future(resolve())
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


def _bounded(deployment_id: int) -> None:
    if not access_sql.id_bounded(deployment_id):
        raise NotFound(f"No deployment {deployment_id} among your teams'.")


async def _answered(resolve: Coroutine[Any, Any, Access]) -> Access:
    """The check's answer; a database that does not answer is a 503, never a 500."""
    try:
        return await resolve
    except (psycopg.Error, DatabaseError) as exc:
        raise DatabaseAway("The database did not answer; try again in a moment.") from exc


async def access_for_session(session_key: str | None, deployment_id: int) -> Access:
    if not session_key or not access_sql.session_key_bounded(session_key):
        raise NotSignedIn("Sign in to use the playground.")
    _bounded(deployment_id)
    # A session's answer is shared only while in flight: it is two index reads, and a
    # sign-out (its row deleted) then takes effect at once, in every process.
    ttl = 0.0 if access_sql.fast_path_enabled() else settings.PLAYGROUND["ACCESS_CACHE_SECONDS"]
    return await _shared.get(
        ("s", session_key, deployment_id),
        lambda: _answered(_session_access(session_key, deployment_id)),
        ttl,
    )


async def access_for_token(authorization: str | None, deployment_id: int) -> Access:
    if not authorization:
        raise NotSignedIn("Send a team API token as 'Authorization: Bearer hgr_…'.")
    _bounded(deployment_id)
    key = ("t", token_hash(authorization), deployment_id)
    ttl = settings.PLAYGROUND["ACCESS_CACHE_SECONDS"]
    return await _shared.get(
        key, lambda: _answered(_token_access(authorization, deployment_id)), ttl
    )


def access_cache_clear() -> None:
    _shared.clear()
    _facts.clear()
