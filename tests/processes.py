"""Servers the tests start in child processes (uvicorn, Celery workers, the web command),
waited for within a deadline."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests


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
