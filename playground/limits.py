"""A per-user cap on concurrent streams, counted atomically in Redis.

Each stream holds an upstream slot (and a GPU's attention) for as long as it runs,
so the cap is on streams in flight, not on requests per minute. Each slot is one
member of a sorted set scored by when it lapses, so a slot a dead process never gave
back expires on its own, and a refused try neither takes a slot nor renews one.
Without Redis (one machine, `scripts/run`) the slots are kept in this process,
which is the only one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from typing import Any

from django.conf import settings

from portal.exceptions import ApplicationError

# KEYS[1] the user's slots; ARGV: limit, now, this slot's lapse time, slot id, key expiry.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_RELEASE = """
return redis.call('ZREM', KEYS[1], ARGV[1])
"""


class TooManyStreams(ApplicationError):
    code = "too_many_streams"
    http_status = 429


def _redis_url() -> str:
    url = str(settings.PLAYGROUND["REDIS_URL"])
    broker = str(settings.CELERY_BROKER_URL)
    if not url and broker.startswith(("redis://", "rediss://")):
        url = broker
    return url


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
_local: dict[int, dict[str, float]] = {}


def _client() -> Any:
    # redis.asyncio connections belong to the loop that opened them.
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(_redis_url())
        _clients[loop] = client
    return client


def _key(user_id: int) -> str:
    # A sorted set of slots. The previous release kept a plain counter under
    # "hangar:playground:streams:<id>"; a new name lets those lapse unread instead of
    # answering WRONGTYPE while they live.
    return f"hangar:playground:slots:{user_id}"


class _Batch:
    """Scripts queued in one event-loop turn go to Redis in one pipeline, one round trip.

    A burst of streams would otherwise pay one request each through redis-py's
    connection pool, which costs more CPU than the rest of the proxy's checks.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, tuple[Any, ...], asyncio.Future[Any]]] = []
        self.flushing: set[asyncio.Task[None]] = set()

    def run(self, script: str, *args: Any, keys: int = 1) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.calls.append((script, keys, args, future))
        if len(self.calls) == 1:
            asyncio.get_running_loop().call_soon(self._start_flush)
        return future

    def _start_flush(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def _flush(self) -> None:
        calls, self.calls = self.calls, []
        try:
            async with _client().pipeline(transaction=False) as pipe:
                for script, keys, args, _ in calls:
                    pipe.eval(script, keys, *args)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the broker is down: every caller in the batch hears it
            for *_, future in calls:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), result in zip(calls, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def _batch() -> _Batch:
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch()
    return batch


def redis_enabled() -> bool:
    return bool(_redis_url())


def redis_script(script: str, keys: list[str], *args: Any) -> asyncio.Future[Any]:
    """Run a Lua script in the next pipeline, with the stream slots' own calls: a burst of
    streams costs one round trip, whatever each asks of Redis."""
    return _batch().run(script, *keys, *args, keys=len(keys))


def slot_lifetime() -> int:
    """How long a slot lasts if nobody gives it back: a cold start, an idle wait, an hour."""
    cfg = settings.PLAYGROUND
    return int(cfg["COLD_START_LIMIT_SECONDS"] + cfg["IDLE_LIMIT_SECONDS"] + 3600)


async def stream_slot_acquire(user_id: int) -> str:
    """Take one of the user's stream slots and return its id, for stream_slot_release()."""
    limit = settings.PLAYGROUND["STREAMS_PER_USER"]
    slot, now, lifetime = uuid.uuid4().hex, time.time(), slot_lifetime()
    if _redis_url():
        taken = await _batch().run(
            _ACQUIRE, _key(user_id), limit, now, now + lifetime, slot, lifetime + 60
        )
        allowed = int(taken) > 0
    else:
        held = _local.setdefault(user_id, {})
        for old in [k for k, lapse in held.items() if lapse <= now]:
            del held[old]
        allowed = len(held) < limit
        if allowed:
            held[slot] = now + lifetime
    if not allowed:
        raise TooManyStreams(
            f"You already have {limit} replies streaming; wait for one to finish or stop it.",
            extra={"limit": limit},
        )
    return slot


async def stream_slot_release(user_id: int, slot: str) -> None:
    """Give a slot back; giving back one already returned (or lapsed) does nothing."""
    if _redis_url():
        await _batch().run(_RELEASE, _key(user_id), slot)
    else:
        _local.get(user_id, {}).pop(slot, None)


async def limits_close() -> None:
    loop = asyncio.get_running_loop()
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()
