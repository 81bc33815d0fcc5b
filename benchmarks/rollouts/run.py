"""Concurrent rollouts on two workers: wall time against a single rollout's, the share of
the worker slots spent waiting on probes of model servers still loading, tasks per step,
the deepest queue.

    .venv/bin/python benchmarks/rollouts/run.py --rollouts 1 200 --model-load-delay 30 \
        --targets cloud-run-ollama gke-vllm

Needs Postgres and Redis on localhost (see --database, --redis); starts the sandbox and
one Celery worker with beat (two pool processes, as the tests do). Not run by CI. For each
target and N it creates N approved deployments of that target at once (a GKE target's on
one sandbox cluster, open to the team) and runs them to ready, then keeps watching for
--after seconds; it prints, with the 1-minute load average before and after each run:
- wall time until every rollout was ready (or failed), and its ratio to the target's
  single rollout (N = 1, when it was run);
- the slot time of the tasks that waited on the model server and found it not ready (the
  smoke test's probes; on GKE also the wait for the model server's Deployment to become
  Available), from the worker's log, and its share of the slot time (2 slots × wall time);
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
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, nargs="+", default=[1, 200])
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["cloud-run-ollama"],
        choices=["cloud-run-ollama", "cloud-run-vllm", "gke-vllm", "gke-inference-gateway"],
    )
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
from deployments.plans import plan_for  # noqa: E402
from deployments.services.rollout import rollout_schedule  # noqa: E402
from portal.models import Membership, Role, Team  # noqa: E402
from portal.services_hf_token import hf_token_save  # noqa: E402
from runbook.models import Outcome, StepRun  # noqa: E402
from sandbox.testing import SandboxProcess, point_google_auth_at  # noqa: E402
from tests.factories import DeploymentFactory, TeamFactory, UserFactory  # noqa: E402
from tests.plan_variants import plan_variants, target_of  # noqa: E402
from tests.runbook.rollout_driver import HF_TOKEN, _bound  # noqa: E402

TASK_DONE = re.compile(r"Task workers\.tasks\.advance\[[^\]]+\] succeeded")
# The worker's log: "[time: INFO/ForkPoolWorker-1] deployment 7 step smoke_test: Retry",
# then, from the same process, "... Task workers.tasks.advance[id] succeeded in 0.25s".
STEP_LINE = re.compile(
    r": INFO/(?P<proc>[\w-]+)\] deployment \d+ step (?P<step>\w+): (?P<result>\w+)"
)
TASK_LINE = re.compile(
    r": INFO/(?P<proc>[\w-]+)\] Task workers\.tasks\.advance\[[^\]]+\] "
    r"succeeded in (?P<s>[\d.e-]+)s"
)
# The actions that wait on the model server: the smoke test's calls and, on GKE, the wait
# for its Deployment to be Available (its pod ready: the model loaded).
WAITS_ON_MODEL = frozenset(
    {
        "endpoint.ollama_chat",
        "endpoint.vllm_health",
        "endpoint.openai_chat",
        "kube.proxy_health",
        "kube.proxy_chat",
        "kube.wait_available",
    }
)
SLOTS = 2


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


def spec_for(target: str, team: Team, n: int) -> Any:
    """The spec every rollout of `target` gets (None: the factory's cloud-run-ollama one, as
    earlier runs had); a GKE target's is bound to a sandbox cluster open to the team, with
    room in the team's namespace quota for all N."""
    if target == "cloud-run-ollama":
        return None
    variant, spec = next((v, s) for v, s in plan_variants() if target_of(v).name == target)
    admin = UserFactory(username="bench-admin")
    Membership.objects.get_or_create(team=team, user=admin, defaults={"role": Role.ADMIN})
    hf_token_save(team=team, token=HF_TOKEN, by=admin)
    spec = _bound(variant, spec, team)
    if hasattr(spec, "team_gpus"):
        spec = replace(spec, team_gpus=spec.gpus_held * n)
    return spec


def create(n: int, target: str, team: Team, spec: Any) -> list[int]:
    user = UserFactory(username="bench")
    extra: dict[str, Any] = {}
    if spec is not None:
        extra = {name: getattr(spec, name) for name in type(spec).COLUMN_FIELDS}
        extra |= {"target": target, "spec": spec.spec_json()}
    ids = []
    with transaction.atomic():
        for i in range(n):
            d = cast(
                Deployment,
                DeploymentFactory(
                    team=team,
                    requested_by=user,
                    slug=f"bench-{n}-{i}",
                    status=Status.APPROVED,
                    **extra,
                ),
            )
            ids.append(d.pk)
            rollout_schedule(deployment_id=d.pk)
    return ids


def waiting_on_model(log: str, deployment: Deployment) -> tuple[float, int]:
    """Slot seconds of the advance tasks that ran a step waiting on the model server and
    found it not ready (anything but Succeeded), and how many there were."""
    waits = {s.key for s in plan_for(deployment).steps if s.action in WAITS_ON_MODEL}
    pending: dict[str, tuple[str, str]] = {}
    seconds, count = 0.0, 0
    for line in log.splitlines():
        step = STEP_LINE.search(line)
        if step:
            pending[step["proc"]] = (step["step"], step["result"])
            continue
        task = TASK_LINE.search(line)
        if task:
            key, result = pending.pop(task["proc"], ("", ""))
            if key in waits and result != "Succeeded":
                seconds += float(task["s"])
                count += 1
    return seconds, count


def first_wait_started(ids: list[int], deployment: Deployment, at: float) -> float:
    """Seconds from the start until the last rollout began waiting on its model server."""
    waits = [s.key for s in plan_for(deployment).steps if s.action in WAITS_ON_MODEL]
    first = (
        StepRun.objects.filter(owner_kind="deployment", owner_id__in=ids, step=waits[0])
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return round(first.timestamp() - at, 1) if first else float("nan")


def run(n: int, target: str, r: redis.Redis, tmp: Path) -> dict[str, object]:
    fresh_database()
    r.flushdb()
    team = cast(Team, TeamFactory(slug="bench"))
    spec = spec_for(target, team, n)
    log = tmp / f"worker-{target}-{n}.log"
    worker = start_worker(log)
    load_before = os.getloadavg()[0]
    try:
        started, started_at = time.monotonic(), time.time()
        ids = create(n, target, team, spec)
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
        load_after = os.getloadavg()[0]
        at_ready = queue_depth(r)
        text = log.read_text()
        tasks_at_ready = len(TASK_DONE.findall(text))
        first = Deployment.objects.get(pk=ids[0])
        probe_s, probes = waiting_on_model(text, first)
        end = time.monotonic() + ARGS.after
        while time.monotonic() < end:
            deepest = max(deepest, queue_depth(r))
            time.sleep(ARGS.every)
        steps = StepRun.objects.filter(
            owner_kind="deployment", owner_id__in=ids, outcome=Outcome.SUCCEEDED
        ).count()
        failed = Deployment.objects.filter(pk__in=ids, status=Status.FAILED).count()
        busy = sum(
            float(m) for m in re.findall(r"advance\[[^\]]+\] succeeded in ([\d.e-]+)s", text)
        )
        slot_s = SLOTS * wall if wall is not None else float("nan")
        return {
            "target": target,
            "rollouts": n,
            "failed": failed,
            "wall_s": round(wall, 1) if wall is not None else float("nan"),
            "last_load_start_s": first_wait_started(ids, first, started_at),
            "probe_s": round(probe_s, 1),
            "probes": probes,
            "probe_share": f"{probe_s / slot_s:.0%}",
            "busy_share": f"{busy / slot_s:.0%}",
            "steps": steps,
            "tasks": tasks_at_ready,
            "tasks_per_step": round(tasks_at_ready / max(steps, 1), 2),
            "max_queue": deepest,
            "max_advance_tasks": advances,
            "max_for_one_deployment": most,
            "queued_at_ready": at_ready,
            "queued_after": queue_depth(r),
            "tasks_after": len(TASK_DONE.findall(log.read_text())) - tasks_at_ready,
            "load_before": round(load_before, 2),
            "load_after": round(load_after, 2),
        }
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


# The printed table; the JSON line of each run has every figure.
COLUMNS = (
    "target",
    "rollouts",
    "failed",
    "wall_s",
    "vs_single",
    "last_load_start_s",
    "probes",
    "probe_s",
    "probe_share",
    "busy_share",
    "tasks",
    "tasks_per_step",
    "max_queue",
    "load_before",
    "load_after",
)


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
        for target in ARGS.targets:
            single = None
            for n in ARGS.rollouts:
                requests_reset(sandbox.url)
                row = run(n, target, r, tmp)
                if n == 1:
                    single = row["wall_s"]
                row["vs_single"] = (
                    round(float(row["wall_s"]) / float(single), 2) if single else "-"  # type: ignore[arg-type]
                )
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
    finally:
        sandbox.stop()
    print(
        f"\nmodel load {ARGS.model_load_delay:g} s, operations {ARGS.operation_delay:g} s, "
        f"{SLOTS} worker slots; load average = 1-minute, before and after each run"
    )
    print("\n| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in COLUMNS) + " |")


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
