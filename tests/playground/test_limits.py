"""The per-user stream cap, in Redis (shared by every web process) or in-process (one machine)."""

import asyncio

import pytest

from playground import limits
from playground.limits import TooManyStreams, stream_slot_acquire, stream_slot_release


def _cap(settings, broker: str, limit: int = 2) -> None:
    settings.CELERY_BROKER_URL = broker
    settings.PLAYGROUND = {**settings.PLAYGROUND, "REDIS_URL": "", "STREAMS_PER_USER": limit}


def _fresh(settings, broker, user_id: int) -> None:
    _cap(settings, broker or settings.CELERY_BROKER_URL)  # None: the test Redis
    limits._local.clear()
    if broker is None:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(limits._key(user_id))


async def _take(user_id: int) -> str | None:
    try:
        return await stream_slot_acquire(user_id)
    except TooManyStreams:
        return None


async def _take_and_give_back(user_id: int) -> list[bool]:
    burst = await asyncio.gather(*[_take(user_id) for _ in range(5)])  # at once: one round trip
    held = [slot for slot in burst if slot]
    await stream_slot_release(user_id, held[0])
    again = await _take(user_id)
    for _ in range(3):
        await stream_slot_release(user_id, held[0])  # giving one back twice frees nothing more
    after = await asyncio.gather(_take(user_id), _take(user_id))
    await limits.limits_close()
    return [slot is not None for slot in [*burst, again, *after]]


@pytest.mark.parametrize("broker", ["filesystem://", None])
def test_a_user_gets_the_cap_and_no_more(settings, broker):
    user_id = 900_000 + (0 if broker else 1)
    _fresh(settings, broker, user_id)
    results = asyncio.run(_take_and_give_back(user_id))
    assert results == [True, True, False, False, False, True, False, False]


async def _lapse_and_retry(user_id: int, monkeypatch) -> list[bool]:
    clock = [1_000_000.0]
    monkeypatch.setattr(limits.time, "time", lambda: clock[0])
    held = [await _take(user_id), await _take(user_id)]  # never given back: a leak
    refused = []
    for _ in range(5):  # refused tries along the way renew nothing
        clock[0] += limits.slot_lifetime() / 5 - 1
        refused.append(await _take(user_id))
    clock[0] += 10
    after = await _take(user_id)
    await limits.limits_close()
    return [s is not None for s in [*held, *refused, after]]


@pytest.mark.parametrize("broker", ["filesystem://", None])
def test_a_slot_nobody_gives_back_lapses_on_its_own(settings, broker, monkeypatch):
    user_id = 900_010 + (0 if broker else 1)
    _fresh(settings, broker, user_id)
    results = asyncio.run(_lapse_and_retry(user_id, monkeypatch))
    assert results == [True, True, False, False, False, False, False, True]


def test_a_counter_left_by_the_previous_release_does_not_break_streams(settings):
    """Before slots lapsed one by one, a user's streams were a plain counter in Redis; a web
    process upgraded while such a counter lives must not answer its owner with a 500."""
    import redis

    user_id = 990_001
    _fresh(settings, None, user_id)
    old = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    old.set(f"hangar:playground:streams:{user_id}", 3, ex=3600)

    async def take_one() -> str | None:
        try:
            return await _take(user_id)
        finally:
            await limits.limits_close()

    try:
        assert asyncio.run(take_one()) is not None
    finally:
        old.delete(f"hangar:playground:streams:{user_id}")
