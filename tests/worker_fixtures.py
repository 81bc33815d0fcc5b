"""A real Celery worker (with beat) in its own process, on the test database and Redis."""

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection

from tests.processes import start_server, stop

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(self, log: Path, env: dict[str, str], tmp: Path) -> None:
        self.log = log
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            f"--schedule={tmp / 'beat-schedule'}",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            f"--hostname=test-{time.monotonic_ns()}@%h",
        ]
        # In its own process group (`group`): a signal reaches the pool children too.
        self.process = start_server(
            command, log=log, ready=self._ready, what="worker", group=True, cwd=ROOT, env=env
        )

    def _ready(self) -> bool:
        return "ready." in self.log.read_text()

    def kill(self) -> None:
        """SIGKILL the worker and its children, as an OOM killer or a lost VM would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop(self.process, group=True, timeout=15)


@pytest.fixture
def start_worker(transactional_db, sandbox, tmp_path) -> Iterator[Callable[[], WorkerProcess]]:
    """Start workers on demand; every one is stopped before the database is flushed."""
    current_app.control.purge()  # tasks left by an earlier test point at rows that are gone
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SANDBOX_URL": settings.SANDBOX_URL,
    }
    workers: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(workers)}.log", env, tmp_path)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker()
