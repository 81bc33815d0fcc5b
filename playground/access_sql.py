"""The access check's reads as indexed SQL on psycopg's async pool: no thread, no ORM.

A new caller used to cost three ORM queries on the proxy's thread pool (the session, the
user, the deployment with a team subquery), about 3 ms each of which half held the
interpreter lock: 200 new callers queued behind each other for over a second. Here a
token is one read (the token by its unique prefix, joined to its owner and, by primary
key, to the deployment of its team); a session is its row by primary key and then one
read of the deployment joined to the caller's membership and user row. Each is awaited
on the event loop. The rules stay Django's and the portal's: the session is decoded by
Django's session store and checked against the user's session hash as
django.contrib.auth.get_user does; the token by portal.tokens and ApiToken.is_usable.

Used with Postgres and the database session engine (the production setup), on a server's
event loop (opened at its lifespan startup); anything else takes the ORM path in
playground/access.py.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from psycopg_pool import AsyncConnectionPool

from deployments.models import Deployment
from portal.models import ApiToken, Membership

DB_SESSIONS = "django.contrib.sessions.backends.db"


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
    pending = [task for task in _marking if task.get_loop() is loop]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    pool = _pools.pop(loop, None)
    if pool is not None:
        await pool.close()


async def _one(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    pool = _pools[asyncio.get_running_loop()]
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchone()


User = get_user_model()
_USER = User._meta.db_table
_DEPLOYMENT = Deployment._meta.db_table
_MEMBERSHIP = Membership._meta.db_table
_TOKEN = ApiToken._meta.db_table
_SESSION = Session._meta.db_table
_DEPLOYMENT_COLUMNS = ("id", "slug", "target", "model", "region", "gpu_type", "gpu_count",
                       "spec", "status", "endpoint_url")  # fmt: skip
_D = ", ".join(f"d.{c}" for c in _DEPLOYMENT_COLUMNS)

# Indexes: the session's primary key; the deployment's primary key, and the membership's
# unique (team, user); the token's unique prefix.
SESSION_SQL = (
    f"SELECT session_data FROM {_SESSION} WHERE session_key = %(key)s AND expire_date > %(now)s"  # noqa: S608 - names from the models
)
MEMBER_SQL = f"""
SELECT u.id, u.username, u.password, u.is_active, {_D}
FROM {_DEPLOYMENT} d
JOIN {_MEMBERSHIP} m ON m.team_id = d.team_id AND m.user_id = %(user)s
JOIN {_USER} u ON u.id = m.user_id
WHERE d.id = %(deployment)s
"""  # noqa: S608 - names from the models
TOKEN_SQL = f"""
SELECT t.id, t.key_hash, t.scope, t.team_id, t.revoked_at, t.expires_at, t.last_used_at,
       u.id, u.username, u.is_active, d.team_id = t.team_id AND m.id IS NOT NULL, {_D}
FROM {_TOKEN} t
JOIN {_USER} u ON u.id = t.owner_id
LEFT JOIN {_DEPLOYMENT} d ON d.id = %(deployment)s
LEFT JOIN {_MEMBERSHIP} m ON m.team_id = d.team_id AND m.user_id = t.owner_id
WHERE t.prefix = %(prefix)s
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
    row = await _one(SESSION_SQL, {"key": session_key, "now": timezone.now()})
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
    found = await _one(MEMBER_SQL, {"user": user_id, "deployment": deployment_id})
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
    row = await _one(
        f"SELECT id, username, password, is_active FROM {_USER} WHERE id = %(user)s",  # noqa: S608
        {"user": user_id},
    )
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
    row = await _one(TOKEN_SQL, {"prefix": prefix, "deployment": deployment_id})
    if row is None:
        return None
    token_id, key_hash, scope, team_id, revoked_at, expires_at, last_used_at = row[:7]
    user_id, username, is_active, of_team, *deployment = row[7:]
    token = ApiToken(
        pk=token_id, key_hash=key_hash, scope=scope, team_id=team_id, owner_id=user_id,
        prefix=prefix, revoked_at=revoked_at, expires_at=expires_at, last_used_at=last_used_at,
    )  # fmt: skip
    visible = bool(of_team) and deployment[0] is not None
    return TokenRow(
        token,
        user_id,
        username,
        bool(is_active),
        _deployment(tuple(deployment)) if visible else None,
    )


_marking: set[asyncio.Future[None]] = set()


def token_mark_used_later(token_id: int, now: datetime) -> None:
    """Write the token's last use without holding up the reply, which does not depend on
    it; access_sql_close() waits for what is still being written."""
    task = asyncio.ensure_future(_token_mark_used(token_id, now))
    _marking.add(task)
    task.add_done_callback(_marking.discard)


async def _token_mark_used(token_id: int, now: datetime) -> None:
    pool = _pools[asyncio.get_running_loop()]
    async with pool.connection() as conn:
        await conn.execute(
            f"UPDATE {_TOKEN} SET last_used_at = %(now)s WHERE id = %(id)s",  # noqa: S608
            {"now": now, "id": token_id},
        )
