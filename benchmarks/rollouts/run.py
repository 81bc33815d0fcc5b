"""Concurrent rollouts on two workers: wall time, tasks per step, the deepest queue.

    .venv/bin/python benchmarks/rollouts/run.py --rollouts 50 200

Needs Postgres and Redis on localhost (see --database, --redis); starts the sandbox and
one Celery worker with beat (two pool processes, as the tests do). Not run by CI. For each
N it creates N approved cloud-run-ollama deployments at once and runs them to ready, then
keeps watching for --after seconds; it prints:
- wall time until every rollout was ready (or failed);
- advance tasks run (the worker's log) per step that succeeded;
- the largest queue depth seen: messages waiting in the queue plus those the worker holds
  (reserved or counting down), sampled every --every seconds; of those, the advance tasks,
  and the most for any one deployment (the one running counts: acks are late);
- what was still queued once every rollout was ready, and at the end of --after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import cast
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/hangar_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--sandbox-port", type=int, default=18899)
    parser.add_argument("--operation-delay", type=float, default=2.0)
    # How long each model server takes to start (the sandbox holds requests meanwhile, as
    # Cloud Run holds them while an instance starts); 30 puts a real model load on every
    # rollout's smoke test.
    parser.add_argument("--model-load-delay", type=float, default=1.0)
    parser.add_argument("--after", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=1800.0)
    return parser.parse_args()


ARGS = parse_args()
# The portal's rollout timing, as production has it but for the poll interval (the
# sandbox's operations take seconds, not minutes).
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "DATABASE_URL": ARGS.database,
    "CELERY_BROKER_URL": ARGS.redis,
    "SANDBOX_URL": f"http://127.0.0.1:{ARGS.sandbox_port}",
    "ROLLOUT_POLL_SECONDS": "1",
    "ROLLOUT_POLL_MAX_SECONDS": "5",
    "ROLLOUT_STEP_LEASE_SECONDS": "150",
    "ROLLOUT_STALL_SECONDS": "10",
    "ROLLOUT_RECONCILE_EVERY_SECONDS": "2",
    # Far shorter than production's 900 s, on purpose: a queue that takes longer than this
    # to drain must still not make the reconciler add tasks.
    "ROLLOUT_LOST_TASK_SECONDS": "5",
    "ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS": "600",
    "CELERY_TASK_SOFT_TIME_LIMIT": "90",
    "CELERY_TASK_TIME_LIMIT": "120",
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from deployments.choices import Status  # noqa: E402
from deployments.models import Deployment  # noqa: E402
from deployments.services.rollout import rollout_schedule  # noqa: E402
from runbook.models import Outcome, StepRun  # noqa: E402
from sandbox.testing import SandboxProcess, point_google_auth_at  # noqa: E402
from tests.factories import DeploymentFactory, TeamFactory, UserFactory  # noqa: E402

TASK_DONE = re.compile(r"Task workers\.tasks\.advance\[[^\]]+\] succeeded")


def fresh_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = urlparse(ARGS.database).path.lstrip("/")
    with psycopg.connect(ARGS.database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def queue_depth(r: redis.Redis) -> int:
    """Waiting in the queue, plus delivered to the worker and not yet acknowledged (ETA
    tasks counting down, prefetched ones, the ones running)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    return int(r.llen(queue)) + int(r.hlen("unacked"))


ADVANCE_ARGS = re.compile(r"\[(\d+)")


def advance_tasks(r: redis.Redis) -> tuple[int, int]:
    """Advance tasks queued or held, in all and the most for any one deployment."""
    messages = [json.loads(v) for v in r.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)]
    messages += [json.loads(v)[0] for v in r.hvals("unacked")]
    counts: Counter[str] = Counter()
    for message in messages:
        headers = message.get("headers", {})
        if headers.get("task") == "workers.tasks.advance":
            found = ADVANCE_ARGS.match(headers.get("argsrepr") or "")
            if found:
                counts[found.group(1)] += 1
    return sum(counts.values()), max(counts.values(), default=0)


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--beat",
        f"--schedule={log.parent / 'beat-schedule'}",
        "--loglevel=INFO",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        f"--hostname=bench-{time.monotonic_ns()}@%h",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
        command,
        cwd=ROOT,
        env=ENV,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        time.sleep(0.2)
    return process


def create(n: int) -> list[int]:
    team = TeamFactory(slug="bench")
    user = UserFactory(username="bench")
    ids = []
    with transaction.atomic():
        for i in range(n):
            d = cast(
                Deployment,
                DeploymentFactory(
                    team=team, requested_by=user, slug=f"bench-{n}-{i}", status=Status.APPROVED
                ),
            )
            ids.append(d.pk)
            rollout_schedule(deployment_id=d.pk)
    return ids


def run(n: int, r: redis.Redis, tmp: Path) -> dict[str, float]:
    fresh_database()
    r.flushdb()
    log = tmp / f"worker-{n}.log"
    worker = start_worker(log)
    try:
        started = time.monotonic()
        ids = create(n)
        deepest = most = advances = 0
        wall = None
        deadline = started + ARGS.timeout
        while time.monotonic() < deadline:
            deepest = max(deepest, queue_depth(r))
            queued, for_one = advance_tasks(r)
            advances, most = max(advances, queued), max(most, for_one)
            done = Deployment.objects.filter(
                pk__in=ids, status__in=[Status.READY, Status.FAILED]
            ).count()
            if done == n:
                wall = time.monotonic() - started
                break
            time.sleep(ARGS.every)
        at_ready = queue_depth(r)
        tasks_at_ready = len(TASK_DONE.findall(log.read_text()))
        end = time.monotonic() + ARGS.after
        while time.monotonic() < end:
            deepest = max(deepest, queue_depth(r))
            time.sleep(ARGS.every)
        steps = StepRun.objects.filter(
            owner_kind="deployment", owner_id__in=ids, outcome=Outcome.SUCCEEDED
        ).count()
        failed = Deployment.objects.filter(pk__in=ids, status=Status.FAILED).count()
        return {
            "rollouts": n,
            "failed": failed,
            "wall_s": round(wall, 1) if wall is not None else float("nan"),
            "steps": steps,
            "tasks": tasks_at_ready,
            "tasks_per_step": round(tasks_at_ready / max(steps, 1), 2),
            "max_queue": deepest,
            "max_advance_tasks": advances,
            "max_for_one_deployment": most,
            "queued_at_ready": at_ready,
            "queued_after": queue_depth(r),
            "tasks_after": len(TASK_DONE.findall(log.read_text())) - tasks_at_ready,
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def main() -> None:
    tmp = Path(ROOT / "var" / "bench-rollouts")
    tmp.mkdir(parents=True, exist_ok=True)
    sandbox = SandboxProcess.start(
        port=ARGS.sandbox_port,
        operation_delay=ARGS.operation_delay,
        model_load_delay=ARGS.model_load_delay,
        token_delay=0,
        account_propagation_delay=0,
    )
    point_google_auth_at(sandbox.host_port)
    r = redis.Redis.from_url(ARGS.redis)
    rows = []
    try:
        for n in ARGS.rollouts:
            requests_reset(sandbox.url)
            rows.append(run(n, r, tmp))
            print(rows[-1], flush=True)
    finally:
        sandbox.stop()
    keys = list(rows[0])
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


def requests_reset(url: str) -> None:
    import requests

    requests.post(f"{url}/_sandbox/reset", timeout=30)
    requests.post(
        f"{url}/_sandbox/config",
        json={"operation_delay": ARGS.operation_delay, "model_load_delay": ARGS.model_load_delay},
        timeout=30,
    )


if __name__ == "__main__":
    main()
