"""The access check's reads as indexed SQL on psycopg's async pool: no thread, no ORM.

Why this copy of Django's session check exists: on a server's event loop it replaces the
ORM path in playground/access.py (django.contrib.auth.get_user, then the deployment among
teams_visible_to: three ORM queries on playground/db.py's threads, 4-8 ms a new caller,
serialized by the interpreter lock, so 200 new callers at once added 1.2-1.5 s). Measured
with benchmarks/playground/run.py on the 2-core development machine (its README has the
tables): time added to the first token, p50, when every stream comes from a caller not
seen before, at 1 / 50 / 200 streams at once:

    ORM path (issue 13's run)              playground   15 /  266 / 1,491 ms
                                           passthrough  15 /  286 / 1,200 ms
    this module (2026-12-05 09:15 UTC)     playground  4.0 / 58.5 / 199.3 ms
                                           passthrough 2.5 / 45.3 / 161.6 ms
    issue 13's bound (2x a minimal pass-through)        14 /   80 /   229 ms

The first run answered about half its callers from the access cache, which flatters the
ORM path; the second also worked out each endpoint's facts once per deployment instead of
per caller (access.py). The two changes were not measured apart.

How: a token is one read (the token by its unique prefix, joined to its owner and, by
primary key, to the deployment of its team); a session is its row by primary key and then
one read of the deployment joined to the caller's membership and user row. Reads asked for
in the same turn of the event loop go as one query (_Batch). The rules stay Django's and
the portal's: the session is decoded by Django's session store and checked as get_user
does (its backend, the user's id, the session hash under the secret key or a fallback,
ModelBackend's is_active); the token by portal.tokens and ApiToken.is_usable. Unlike
get_user this never writes the session: Django rewrites a hash made under a fallback key
and deletes a session whose hash no longer matches; here such a session is only accepted
or refused. test_the_postgres_path_agrees_with_djangos_own_session_check
(tests/playground/test_access_check.py) holds both paths to the same answer for every way
a session can stand.

Used with Postgres and the database session engine (the production setup), on a server's
event loop (opened at its lifespan startup); anything else takes the ORM path in
playground/access.py.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from deployments.models import Deployment
from portal.models import ApiToken, Membership

DB_SESSIONS = "django.contrib.sessions.backends.db"
T = TypeVar("T")

# Every key is bounded before it is put in a query: a value Postgres refuses (an id past
# bigint, a NUL in text) would otherwise fail the whole batch, every caller in it.
BIGINT_MAX = 2**63 - 1
# Django makes session keys of 32 characters from VALID_KEY_CHARS (a-z, 0-9); the column
# holds 40 (django.contrib.sessions.base_session.AbstractBaseSession.session_key).
SESSION_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
SESSION_KEY_MAX = 40


def id_bounded(value: int) -> bool:
    """Whether `value` can be a primary key (a positive bigint)."""
    return 0 < value <= BIGINT_MAX


def session_key_bounded(key: str) -> bool:
    """Whether `key` could be a key Django made; anything else is no session, unasked."""
    return 8 <= len(key) <= SESSION_KEY_MAX and SESSION_KEY_CHARS.issuperset(key)


def _eligible() -> bool:
    return settings.SESSION_ENGINE == DB_SESSIONS and connections["default"].vendor == "postgresql"


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
    weakref.WeakKeyDictionary()
)


def fast_path_enabled() -> bool:
    """Whether this event loop has the pool: only a server's loop, opened at its lifespan
    startup (playground/asgi.py). The short-lived loops async_to_sync makes for one request
    (Django's sync test client, WSGI) take the ORM path instead of each leaving a pool."""
    return asyncio.get_running_loop() in _pools


def _conninfo() -> dict[str, Any]:
    db = connections["default"].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        **{k: v for k, v in db.get("OPTIONS", {}).items() if isinstance(v, str | int)},
    }
    return {k: v for k, v in params.items() if v is not None}


async def access_sql_open() -> None:
    """Open this loop's pool, on Postgres with database sessions (else nothing: the ORM
    path serves). Connections open in the background; the first reads wait for one."""
    loop = asyncio.get_running_loop()
    if not _eligible() or loop in _pools:
        return
    pool = AsyncConnectionPool(
        kwargs={**_conninfo(), "autocommit": True},
        min_size=1,
        max_size=int(settings.PLAYGROUND["DB_THREADS"]),
        open=False,
        name="playground-access",
    )
    await pool.open()
    _pools[loop] = pool


async def access_sql_close() -> None:
    loop = asyncio.get_running_loop()
    for task in [task for task in _marking if task.get_loop() is loop]:
        task.cancel()
    if loop in _pools:
        await _write_marks(loop, wait=False)
    pool = _pools.pop(loop, None)
    if pool is not None:
        await pool.close()


class _Batch:
    """Lookups asked for in one turn of the event loop go to Postgres as one query.

    A burst of 200 new callers would otherwise be 200 to 400 queries, each costing the
    event loop more in the driver than Postgres takes to answer; as one query over an
    array of keys (joined through the same unique indexes) they cost about one.
    `sql` takes `%(keys)s`-style arrays from `params(keys)`; each row starts with its key.
    """

    def __init__(
        self, sql: str, params: Callable[[list[tuple[Any, ...]]], dict[str, Any]], width: int
    ) -> None:
        self.sql, self.params, self.width = sql, params, width
        self.waiting: dict[tuple[Any, ...], list[asyncio.Future[tuple[Any, ...] | None]]] = {}
        self.flushing: set[asyncio.Task[None]] = set()

    def ask(self, key: tuple[Any, ...]) -> asyncio.Future[tuple[Any, ...] | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, ...] | None] = loop.create_future()
        if not self.waiting:
            loop.call_soon(self._start)
        self.waiting.setdefault(key, []).append(future)
        return future

    def _start(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def _flush(self) -> None:
        waiting, self.waiting = self.waiting, {}
        try:
            found = await self._query(list(waiting))
        except psycopg.DataError:
            # A value Postgres refuses (the keys are bounded before they are asked for, so
            # this is a rule not foreseen): one caller's bad key must not fail the others,
            # so each key is asked again on its own and only its own caller hears of it.
            await asyncio.gather(*(self._alone(key, futures) for key, futures in waiting.items()))
            return
        except Exception as exc:  # the database is away: every caller in the batch hears it
            _fail(waiting, exc)
            return
        for key, futures in waiting.items():
            _settle(futures, found.get(key))

    async def _alone(
        self, key: tuple[Any, ...], futures: list[asyncio.Future[tuple[Any, ...] | None]]
    ) -> None:
        try:
            found = await self._query([key])
        except Exception as exc:
            _fail({key: futures}, exc)
            return
        _settle(futures, found.get(key))

    async def _query(self, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        rows = await pooled_fetch(self.sql, self.params(keys))
        return {tuple(row[: self.width]): tuple(row[self.width :]) for row in rows}


def _settle(futures: list[asyncio.Future[Any]], result: Any) -> None:
    for future in futures:
        if not future.done():
            future.set_result(result)


def _fail(waiting: dict[Any, list[asyncio.Future[Any]]], exc: BaseException) -> None:
    for futures in waiting.values():
        for future in futures:
            if not future.done():
                future.set_exception(exc)


# What a connection the server dropped raises (PoolTimeout, no connection to be had, too).
DROPPED = (psycopg.OperationalError, psycopg.InterfaceError)


async def pooled(work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
    """`work` on a connection of this loop's pool, once more on a fresh one if it was dropped.

    A connection the server dropped (a failover, a restart, pg_terminate_backend) fails
    the first statement sent on it; the pool's idle connections are then as dead. They are
    checked and replaced, and `work` is run once more: every caller's work is a read, or a
    write that changes nothing the second time. A database still away raises DROPPED."""
    pool = _pools[asyncio.get_running_loop()]
    try:
        async with pool.connection() as conn:
            return await work(conn)
    except DROPPED:
        await pool.check()
        async with pool.connection() as conn:
            return await work(conn)


async def pooled_fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of one read on this loop's pool (pooled: retried on a dropped connection)."""

    async def fetch(conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()

    return await pooled(fetch)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Batch]] = (
    weakref.WeakKeyDictionary()
)


def _batch(name: str) -> _Batch:
    loop = asyncio.get_running_loop()
    batches = _batches.get(loop)
    if batches is None:
        batches = _batches[loop] = {
            "session": _Batch(
                SESSION_SQL, lambda keys: {"keys": [k[0] for k in keys], "now": timezone.now()}, 1
            ),
            "member": _Batch(
                MEMBER_SQL,
                lambda keys: {"users": [k[0] for k in keys], "deps": [k[1] for k in keys]},
                2,
            ),
            "token": _Batch(
                TOKEN_SQL,
                lambda keys: {"prefixes": [k[0] for k in keys], "deps": [k[1] for k in keys]},
                2,
            ),
            "user": _Batch(USER_SQL, lambda keys: {"users": [k[0] for k in keys]}, 1),
        }
    return batches[name]


async def _one(name: str, *key: Any) -> tuple[Any, ...] | None:
    return await _batch(name).ask(key)


User = get_user_model()
_USER = User._meta.db_table
_DEPLOYMENT = Deployment._meta.db_table
_MEMBERSHIP = Membership._meta.db_table
_TOKEN = ApiToken._meta.db_table
_SESSION = Session._meta.db_table
_DEPLOYMENT_COLUMNS = (
    "id",
    "slug",
    "target",
    "model",
    "region",
    "gpu_type",
    "gpu_count",
    "spec",
    "status",
    "endpoint_url",
)
_D = ", ".join(f"d.{c}" for c in _DEPLOYMENT_COLUMNS)

# One row per key asked for (each row starts with its key), found through the session's
# primary key; the deployment's primary key and the membership's unique (team, user); the
# user's primary key; the token's unique prefix.
SESSION_SQL = f"""
SELECT s.session_key, s.session_data FROM {_SESSION} s
WHERE s.session_key = ANY(%(keys)s::text[]) AND s.expire_date > %(now)s
"""  # noqa: S608 - names from the models
MEMBER_SQL = f"""
SELECT q.u, q.d, u.id, u.username, u.password, u.is_active, {_D}
FROM unnest(%(users)s::bigint[], %(deps)s::bigint[]) AS q(u, d)
JOIN {_DEPLOYMENT} d ON d.id = q.d
JOIN {_MEMBERSHIP} m ON m.team_id = d.team_id AND m.user_id = q.u
JOIN {_USER} u ON u.id = q.u
"""  # noqa: S608 - names from the models
USER_SQL = f"""
SELECT u.id, u.id, u.username, u.password, u.is_active FROM {_USER} u
WHERE u.id = ANY(%(users)s::bigint[])
"""  # noqa: S608 - names from the models
TOKEN_SQL = f"""
SELECT q.p, q.dep, t.id, t.key_hash, t.scope, t.team_id, t.revoked_at, t.expires_at,
       t.last_used_at, u.id, u.username, u.is_active,
       d.team_id = t.team_id AND m.id IS NOT NULL, {_D}
FROM unnest(%(prefixes)s::text[], %(deps)s::bigint[]) AS q(p, dep)
JOIN {_TOKEN} t ON t.prefix = q.p
JOIN {_USER} u ON u.id = t.owner_id
LEFT JOIN {_DEPLOYMENT} d ON d.id = q.dep
LEFT JOIN {_MEMBERSHIP} m ON m.team_id = d.team_id AND m.user_id = t.owner_id
"""  # noqa: S608 - names from the models


def _deployment(values: tuple[Any, ...]) -> Deployment:
    return Deployment(**dict(zip(_DEPLOYMENT_COLUMNS, values, strict=True)))


@dataclass(frozen=True)
class Caller:
    """Who is calling, and the deployment if it belongs to one of their teams (else None)."""

    user_id: int
    username: str
    deployment: Deployment | None


async def session_caller(session_key: str, deployment_id: int) -> Caller | None:
    """The signed-in user of a session, as django.contrib.auth.get_user finds them; None
    for no session, an expired one, a signed-out or inactive user or a changed password."""
    if not session_key_bounded(session_key):
        return None
    row = await _one("session", session_key)
    if row is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    session = store.decode(row[0])
    backend = session.get(auth.BACKEND_SESSION_KEY)
    raw_id, session_hash = session.get(auth.SESSION_KEY), session.get(auth.HASH_SESSION_KEY)
    if backend not in settings.AUTHENTICATION_BACKENDS or raw_id is None or not session_hash:
        return None
    try:
        user_id = int(User._meta.pk.to_python(raw_id))
    except (TypeError, ValueError, ValidationError):
        return None
    if not id_bounded(user_id):
        return None
    found = await _one("member", user_id, deployment_id)
    if found is None:
        # Not a member of the deployment's team, or no such deployment (or user): the
        # caller is told the deployment is not among theirs, as the ORM path does. The
        # session itself is still checked first, so a stale one is a 401 and not a 404.
        return await _session_user_only(user_id, session_hash)
    uid, username, password, is_active, *deployment = found
    if not _session_verified(uid, password, session_hash) or not is_active:
        return None
    return Caller(uid, username, _deployment(tuple(deployment)))


async def _session_user_only(user_id: int, session_hash: str) -> Caller | None:
    row = await _one("user", user_id)
    if row is None or not row[3] or not _session_verified(row[0], row[2], session_hash):
        return None
    return Caller(row[0], row[1], None)


def _session_verified(user_id: int, password: str, session_hash: str) -> bool:
    """get_user's check: the hash kept in the session still matches the user's password
    (a password change signs every session out), under the secret key or a fallback."""
    user = User(pk=user_id, password=password)
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    user_id: int
    username: str
    owner_active: bool
    deployment: Deployment | None


async def token_row(prefix: str, deployment_id: int) -> TokenRow | None:
    """The token with this prefix, its owner and, if it is of the token's team and its owner
    is still a member there, the deployment; None for no such token."""
    if not id_bounded(deployment_id):
        return None
    row = await _one("token", prefix, deployment_id)
    if row is None:
        return None
    token_id, key_hash, scope, team_id, revoked_at, expires_at, last_used_at = row[:7]
    user_id, username, is_active, of_team, *deployment = row[7:]
    token = ApiToken(
        pk=token_id,
        key_hash=key_hash,
        scope=scope,
        team_id=team_id,
        owner_id=user_id,
        prefix=prefix,
        revoked_at=revoked_at,
        expires_at=expires_at,
        last_used_at=last_used_at,
    )
    visible = bool(of_team) and deployment[0] is not None
    return TokenRow(
        token,
        user_id,
        username,
        bool(is_active),
        _deployment(tuple(deployment)) if visible else None,
    )


_marks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, datetime]] = (
    weakref.WeakKeyDictionary()
)
_marking: set[asyncio.Task[None]] = set()
MARK_AFTER_SECONDS = 0.5


def token_mark_used_later(token_id: int, now: datetime) -> None:
    """Write the token's last use without holding up the reply, which does not depend on
    it: the uses of the next half second go in one UPDATE. access_sql_close() waits for
    what is still to be written."""
    loop = asyncio.get_running_loop()
    marks = _marks.setdefault(loop, {})
    if not marks:
        task = asyncio.ensure_future(_write_marks(loop))
        _marking.add(task)
        task.add_done_callback(_marking.discard)
    marks[token_id] = now


async def _write_marks(loop: asyncio.AbstractEventLoop, wait: bool = True) -> None:
    if wait:
        await asyncio.sleep(MARK_AFTER_SECONDS)
    marks = _marks.pop(loop, {})
    if not marks:
        return
    sql = (
        f"UPDATE {_TOKEN} t SET last_used_at = q.at "  # noqa: S608 - names from the models
        "FROM unnest(%(ids)s::bigint[], %(at)s::timestamptz[]) AS q(id, at) WHERE t.id = q.id"
    )
    params = {"ids": list(marks), "at": list(marks.values())}

    async def mark(conn: AsyncConnection[Any]) -> None:
        await conn.execute(sql, params)

    await pooled(mark)  # the same UPDATE twice changes nothing more
