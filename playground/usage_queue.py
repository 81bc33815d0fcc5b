"""Usage records of the OpenAI passthrough, written in batches.

A platform can run hundreds of streams at once; one INSERT and commit each, as
they end, took more CPU than relaying them (benchmarks/playground). Records wait
here at most FLUSH_SECONDS and go in with one bulk insert; the ASGI lifespan
shutdown flushes what is left. A crash loses at most that fraction of a second.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from playground.db import run_db
from playground.models import UsageRecord

FLUSH_SECONDS = 0.25
logger = logging.getLogger(__name__)


def _write(records: list[UsageRecord]) -> None:
    UsageRecord.objects.bulk_create(records)


class _Queue:
    def __init__(self) -> None:
        self.pending: list[UsageRecord] = []
        self.flushing: set[asyncio.Task[None]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, record: UsageRecord) -> None:
        self.pending.append(record)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._start)

    def _start(self) -> None:
        self.timer = None
        task = asyncio.ensure_future(self.flush())
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def flush(self) -> None:
        records, self.pending = self.pending, []
        if not records:
            return
        try:
            await run_db(_write, records)
        except Exception:
            logger.exception("could not record usage of %d requests", len(records))

    async def drain(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        await self.flush()
        if self.flushing:
            await asyncio.gather(*self.flushing, return_exceptions=True)


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()


def _queue() -> _Queue:
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = _Queue()
    return queue


def usage_enqueue(record: UsageRecord) -> None:
    _queue().add(record)


async def usage_drain() -> None:
    """Write whatever is waiting (shutdown, tests)."""
    queue = _queues.get(asyncio.get_running_loop())
    if queue is not None:
        await queue.drain()
