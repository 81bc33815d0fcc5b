"""The per-user stream cap, in Redis (shared by every web process) or in-process (one machine)."""

import asyncio

import pytest

from playground import limits
from playground.limits import TooManyStreams, stream_slot_acquire, stream_slot_release


def _cap(settings, broker: str, limit: int = 2) -> None:
    settings.CELERY_BROKER_URL = broker
    settings.PLAYGROUND = {**settings.PLAYGROUND, "REDIS_URL": "", "STREAMS_PER_USER": limit}


async def _take_and_give_back(user_id: int) -> list[bool]:
    async def take() -> bool:
        try:
            await stream_slot_acquire(user_id)
        except TooManyStreams:
            return False
        return True

    burst = await asyncio.gather(*[take() for _ in range(5)])  # at once: one Redis round trip
    await stream_slot_release(user_id)
    again = await take()
    for _ in range(3):
        await stream_slot_release(user_id)  # more releases than slots never go below zero
    after = await asyncio.gather(take(), take(), take())
    await limits.limits_close()
    return [*burst, again, *after]


@pytest.mark.parametrize("broker", ["filesystem://", None])
def test_a_user_gets_the_cap_and_no_more(settings, broker):
    _cap(settings, broker or settings.CELERY_BROKER_URL)  # None: the test Redis
    user_id = 900_000 + (0 if broker else 1)
    if broker is None:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(limits._key(user_id))
    results = asyncio.run(_take_and_give_back(user_id))
    assert results == [True, True, False, False, False, True, True, True, False]
    limits._local.clear()
