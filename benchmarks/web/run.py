"""The web tier at 1, 2 and 4 processes: deployment list pages per second, and queries a page.

    .venv/bin/python benchmarks/web/run.py                  # Postgres on localhost
    .venv/bin/python benchmarks/web/run.py --only pages     # the pages in-process only

First (--only pages stops there) every page that lists what grows is rendered in-process
at --rows' last count of deployments with --pending requests waiting, the team's spend
measured for each deployment and --events rows on one rolling deployment's timeline:
its queries and its time (the median and the slowest of --rounds, after one warm-up, and
the median CPU time of this process), the 1-minute load average read beside each.

Creates a fresh database with --rows deployments (the last count is the one served),
prints the queries one page of the API list and of the HTML list takes at each row count
(the same at 100 and at 10,000 when nothing is looked up per row), then for each process
count starts `scripts/web` (uvicorn, WEB_CONCURRENCY processes) and has --concurrency
clients fetch the API list (50 a page) and the HTML list for --seconds each, signed in
as a team member. Clients share the machine with the server: read the figures as
relative, with the load average printed beside them. Not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=18932)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/hangar_bench_web")
    parser.add_argument("--only", choices=["pages", "throughput"], default=None)
    parser.add_argument("--pending", type=int, default=50)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args()


ARGS = parse_args()
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "DATABASE_URL": ARGS.database,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

import aiohttp  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from deployments.choices import Status  # noqa: E402
from deployments.models import Deployment, TeamGpuQuota  # noqa: E402
from metering.models import SpendDay  # noqa: E402
from portal.models import Role  # noqa: E402
from tests.factories import (  # noqa: E402
    DeploymentFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    platform_admin,
)
from tests.page_rows import fill_deployments, fill_pending, fill_spend, fill_timeline  # noqa: E402

PAGES = {"api": "/api/v1/deployments/?limit=50", "html": "/deployments/"}


def fresh_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = urlparse(ARGS.database).path.lstrip("/")
    with psycopg.connect(ARGS.database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def fill(team: Any, users: list[Any], upto: int) -> None:
    """Deployments up to `upto`, each asked for and decided by one of several people, with
    the estimate and GPU holding a request stores."""
    fill_deployments(team, users, upto - Deployment.objects.count(), prefix="bench")


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return len(captured)


def start_web(processes: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **ENV,
        "WEB_CONCURRENCY": str(processes),
        "PYTHON": sys.executable,
        "HOST": "127.0.0.1",
        "PORT": str(ARGS.port),
    }
    web = subprocess.Popen(  # noqa: S603 - our own script
        [str(ROOT / "scripts" / "web"), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{ARGS.port}/login/", timeout=1)
            return web
        except requests.RequestException:  # refused, reset or slow: not up yet
            time.sleep(0.2)
    raise RuntimeError(log.read_text()[-3000:])


async def pages_per_second(path: str, cookies: dict[str, str]) -> tuple[float, int]:
    url = f"http://127.0.0.1:{ARGS.port}{path}"
    done = errors = 0
    stop = time.monotonic() + ARGS.seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done, errors
        while time.monotonic() < stop:
            async with session.get(url, allow_redirects=False) as response:
                await response.read()
                if response.status == 200:
                    done += 1
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookies=cookies) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(ARGS.concurrency)))
        return done / (time.monotonic() - started), errors


def timed(client: Client, path: str) -> tuple[int, float, float, float, int, float]:
    """(queries, median ms, slowest ms, median CPU ms of this process, bytes, load
    average) of `path`, after a warm-up. The CPU time leaves out Postgres and whatever
    else the machine runs: a page's own cost when the wall time is inflated by load."""
    count = queries(client, path)
    times, cpu, size = [], [], 0
    for _ in range(ARGS.rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        size = len(response.content)
    times.sort()
    cpu.sort()
    middle = len(times) // 2
    return count, times[middle], times[-1], cpu[middle], size, os.getloadavg()[0]


def pages_in_process(team: Any, users: list[Any]) -> None:
    """Every page that lists what grows, at this many rows, timed in this process."""
    from django.urls import reverse

    for n in range(5):  # the requests come from five teams, one with a quota
        asking = team if n == 0 else TeamFactory(slug=f"asking-{n}")
        fill_pending(asking, users, ARGS.pending // 5 + (n < ARGS.pending % 5))
    TeamGpuQuota.objects.get_or_create(team=team, gpu_type="nvidia-l4", defaults={"max_gpus": 64})
    if not SpendDay.objects.exists():
        fill_spend(list(Deployment.objects.filter(team=team, status=Status.READY)))
    rolling: Any = DeploymentFactory(team=team, status=Status.DEPLOYING, requested_by=users[0])
    fill_timeline(rolling, ARGS.events)
    admin = Client()
    admin.force_login(platform_admin("bench-admin"))
    detail = reverse("deployments:detail", args=[rolling.pk])
    cursor = admin.get(detail).content.decode().split('data-timeline-cursor="')[1].split('"')[0]
    pages = {
        "approvals": reverse("deployments:approvals"),
        "team page": reverse("team-detail", args=[team.slug]),
        "spend": reverse("spend"),
        "team list": reverse("team-list"),
        "deployment page": detail,
        "timeline poll, first": reverse("deployments:timeline", args=[rolling.pk]),
        "timeline poll, after": f"{reverse('deployments:timeline', args=[rolling.pk])}"
        f"?after={cursor}",
        "deployments list": PAGES["html"],
        "API deployments list": PAGES["api"],
        "API events (50)": f"/api/v1/deployments/{rolling.pk}/events/",
    }
    print(
        f"\n{Deployment.objects.count():,} deployments, "
        f"{Deployment.objects.filter(status=Status.PENDING_APPROVAL).count()} pending, "
        f"{ARGS.events:,} timeline rows on one, {SpendDay.objects.count():,} measured days; "
        f"in-process, {ARGS.rounds} rounds, {os.cpu_count()} cores"
    )
    print("| page | queries | median ms | slowest ms | CPU ms | KB | load avg (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for name, path in pages.items():
        count, median, slowest, cpu, size, load = timed(admin, path)
        print(
            f"| {name} | {count} | {median:.0f} | {slowest:.0f} | {cpu:.0f} | "
            f"{size / 1024:.0f} | {load:.2f} |",
            flush=True,
        )


def main() -> None:
    fresh_database()
    team = TeamFactory(slug="bench")
    users: list[Any] = [UserFactory(username=f"bench-{i}") for i in range(50)]
    member = users[0]
    MembershipFactory(team=team, user=member, role=Role.DEPLOYER)
    client = Client()
    client.force_login(member)
    print("| deployments | API list page queries | HTML list page queries |\n|---|---|---|")
    for rows in ARGS.rows:
        fill(team, users, rows)
        api = queries(client, PAGES["api"])
        html = queries(client, PAGES["html"])
        print(f"| {rows:,} | {api} | {html} |", flush=True)
    if ARGS.only != "throughput":
        pages_in_process(team, users)
    if ARGS.only == "pages":
        return
    cookies = {"sessionid": client.cookies["sessionid"].value}

    tmp = ROOT / "var" / "bench-web"
    tmp.mkdir(parents=True, exist_ok=True)
    rows_out = []
    for processes in ARGS.processes:
        web = start_web(processes, tmp / f"web-{processes}.log")
        try:
            asyncio.run(pages_per_second(PAGES["api"], cookies))  # warm every process
            measured = {
                name: asyncio.run(pages_per_second(path, cookies)) for name, path in PAGES.items()
            }
            load = os.getloadavg()[0]
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
        rows_out.append((processes, measured, load))
        print(processes, measured, f"load {load:.2f}", flush=True)

    print(
        f"\n{Deployment.objects.count():,} deployments, {ARGS.concurrency} clients, "
        f"{ARGS.seconds:.0f} s each, {os.cpu_count()} cores"
    )
    print("| processes | API list pages/s | HTML list pages/s | errors | load avg (1 min) |")
    print("|---|---|---|---|---|")
    for processes, measured, load in rows_out:
        errors = sum(e for _, e in measured.values())
        print(
            f"| {processes} | {measured['api'][0]:.1f} | {measured['html'][0]:.1f} | "
            f"{errors} | {load:.2f} |"
        )


if __name__ == "__main__":
    main()
