"""Servers the tests start in child processes (uvicorn, Celery workers, the web command):
waited for within a deadline, and stopped however the start goes.

A server a fixture started is stopped when the fixture fails; otherwise it outlives the
run (uvicorn holding a connection to the test database, so the next run cannot create
it). `starting()` stops the process on any failure inside it (a deadline, a server that
exited, Ctrl-C); `stop()` is terminate, wait, kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests


def stop(process: subprocess.Popen, *, group: bool = False, timeout: float = 10) -> None:
    """Terminate `process` (its whole process group with `group`), wait up to `timeout`
    seconds, then kill it; it is gone, and reaped, when this returns."""
    if process.poll() is not None:
        return
    _signal(process, signal.SIGTERM, group)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL, group)
        process.wait()


def _signal(process: subprocess.Popen, sig: signal.Signals, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass  # gone already


@contextmanager
def starting(process: subprocess.Popen, *, group: bool = False) -> Iterator[subprocess.Popen]:
    """Stop `process` if anything inside the block fails, KeyboardInterrupt included."""
    try:
        yield process
    except BaseException:
        stop(process, group=group)
        raise


def start_server(
    command: list[str],
    *,
    log: Path,
    ready: Callable[[], bool],
    what: str,
    timeout: float = 30,
    group: bool = False,
    **popen: Any,
) -> subprocess.Popen:
    """Start `command` (its output appended to `log`) and return once `ready()`; if it is
    not ready in time, or anything fails on the way, it is stopped before this raises.
    `group` starts it in its own process group and stops the group (a server's children)."""
    with log.open("a") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=group, **popen
        )
    with starting(process, group=group):
        wait_until(ready, process, timeout=timeout, what=what, log=log)
    return process


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen,
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
) -> None:
    """Poll `ready()` until it is true; RuntimeError (with the log) when `process` exits
    first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_text(log)}")
        if ready():
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what} not ready after {timeout:g} s:\n{_text(log)}")
        time.sleep(0.1)


def answers(url: str, *, timeout: float = 1.0) -> bool:
    """Whether `url` answers at all, with any status. Anything short of an answer (refused,
    reset, a read that times out on a busy machine) is "not yet", never an error."""
    try:
        requests.get(url, timeout=timeout)
    except requests.RequestException:
        return False
    return True


def _text(log: Path | None) -> str:
    return log.read_text(errors="replace") if log is not None and log.exists() else ""
