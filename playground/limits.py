"""A per-user cap on concurrent streams, counted atomically in Redis.

Each stream holds an upstream slot (and a GPU's attention) for as long as it runs,
so the cap is on streams in flight, not on requests per minute. The counter
expires on its own in case a process dies holding slots. Without Redis (one
machine, `scripts/run`) the count is kept in this process, which is the only one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from typing import Any

from django.conf import settings

from portal.exceptions import ApplicationError

_ACQUIRE = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return n
"""
_RELEASE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
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
_local: Counter[int] = Counter()


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
    return f"hangar:playground:streams:{user_id}"


async def stream_slot_acquire(user_id: int) -> None:
    limit = settings.PLAYGROUND["STREAMS_PER_USER"]
    if _redis_url():
        expiry = int(
            settings.PLAYGROUND["COLD_START_LIMIT_SECONDS"]
            + settings.PLAYGROUND["IDLE_LIMIT_SECONDS"]
            + 3600
        )
        taken = await _client().eval(_ACQUIRE, 1, _key(user_id), limit, expiry)
        allowed = int(taken) > 0
    else:
        allowed = _local[user_id] < limit
        if allowed:
            _local[user_id] += 1
    if not allowed:
        raise TooManyStreams(
            f"You already have {limit} replies streaming; wait for one to finish or stop it.",
            extra={"limit": limit},
        )


async def stream_slot_release(user_id: int) -> None:
    if _redis_url():
        await _client().eval(_RELEASE, 1, _key(user_id))
    elif _local[user_id] > 0:
        _local[user_id] -= 1


async def limits_close() -> None:
    loop = asyncio.get_running_loop()
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()
