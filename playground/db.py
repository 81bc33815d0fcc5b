"""Database work for the async proxy, on a few threads of its own.

Django's ORM is synchronous. asgiref's thread-sensitive default would queue every
stream's checks behind one thread; these threads run them side by side and each
keeps its connection, so a burst of streams does not pay a connection setup each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

P = ParamSpec("P")
T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.PLAYGROUND["DB_THREADS"], thread_name_prefix="playground-db"
            )
        return _executor


def _guarded(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return fn(*args, **kwargs)
    except (InterfaceError, OperationalError):
        # A kept connection the server dropped (restart, idle timeout): reconnect once.
        # The work is a read or one transaction, so running it again is safe.
        if connection.connection is None or connection.is_usable():
            raise
        connection.close()
        return fn(*args, **kwargs)


async def run_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(_guarded, fn, *args, **kwargs))


def db_pool_close() -> None:
    """Close every pool thread's connection and stop the threads (shutdown, tests)."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is None:
        return
    workers = settings.PLAYGROUND["DB_THREADS"]
    # Each job waits at the barrier until all are running, so each lands on its own thread.
    barrier = threading.Barrier(workers, timeout=10)

    def close_here() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        connection.close()

    for future in [executor.submit(close_here) for _ in range(workers)]:
        future.result()
    executor.shutdown(wait=True)
