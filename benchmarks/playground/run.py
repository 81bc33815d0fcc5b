"""Streaming proxy benchmark: direct vs Hangar vs a minimal pass-through vs LiteLLM.

Starts, all on loopback: the paced upstream (upstream.py), the sandbox (only as the
metadata server that mints Hangar's ID tokens), Hangar under uvicorn twice (the lean
ASGI route and, for comparison, the same handlers as Django views), the minimal
Starlette + aiohttp pass-through and LiteLLM's proxy (both from this folder's own
venv, see README.md). Then, for each path and concurrency, opens that many streams at
once and measures at the client: time to first token, and the gap between chunks.

    benchmarks/playground/.venv/bin/python -c pass   # the venv exists (README)
    .venv/bin/python benchmarks/playground/run.py [--concurrency 1 50 200] [--skip litellm]

Every loop is bounded; every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MAIN_PY = ROOT / ".venv" / "bin" / "python"
BENCH_PY = HERE / ".venv" / "bin" / "python"
CSRF = "b" * 32  # a CSRF secret the client holds as both cookie and header


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Procs:
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pg-bench-")))

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own interpreters and scripts
            args, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append(proc)
        print(f"  started {name} (pid {proc.pid})", flush=True)

    def stop(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@dataclass(frozen=True)
class Path_:
    name: str
    url: str
    headers: dict[str, str]
    body: dict[str, object]
    marker: bytes  # bytes that mark one token in the stream
    # Per-stream headers to cycle through (one signed-in user each), instead of `headers`.
    many: tuple[dict[str, str], ...] = ()


@dataclass
class Sample:
    ttft: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    errors: int = 0


async def one_stream(
    http: aiohttp.ClientSession, path: Path_, go: asyncio.Event, s: Sample, n: int = 0
) -> None:
    headers = path.many[n % len(path.many)] if path.many else path.headers
    await go.wait()
    started = time.perf_counter()
    last = None
    try:
        async with http.post(path.url, json=path.body, headers=headers) as response:
            if response.status != 200:
                s.errors += 1
                await response.read()
                return
            async for data in response.content.iter_any():
                count = data.count(path.marker)
                if not count:
                    continue
                now = time.perf_counter()
                if last is None:
                    s.ttft.append(now - started)
                else:
                    s.gaps.append(now - last)
                s.gaps.extend([0.0] * (count - 1))  # tokens that arrived bunched together
                last = now
    except aiohttp.ClientError:
        s.errors += 1


async def measure(path: Path_, concurrency: int, rounds: int) -> Sample:
    sample = Sample()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await one_stream(http, path, _set(asyncio.Event()), Sample())  # warm-up
        for _ in range(rounds):
            go = asyncio.Event()
            tasks = [
                asyncio.ensure_future(one_stream(http, path, go, sample, n))
                for n in range(concurrency)
            ]
            await asyncio.sleep(0.05)
            go.set()  # all at once
            await asyncio.gather(*tasks)
            await asyncio.sleep(float(os.environ.get("BENCH_PAUSE", "0.2")))
    return sample


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def setup_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--skip", nargs="*", default=[], help="paths to leave out, e.g. litellm")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hangar_bench"
        ),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    args = parser.parse_args()

    procs = Procs()
    ports = {k: free_port() for k in ("up", "sandbox", "lean", "django", "minimal", "litellm")}
    up = f"http://127.0.0.1:{ports['up']}"
    try:
        procs.start(
            "upstream",
            [
                str(MAIN_PY),
                str(HERE / "upstream.py"),
                "--port",
                str(ports["up"]),
                "--chunks",
                str(args.chunks),
                "--interval",
                str(args.interval),
            ],
            {},
        )
        procs.start("sandbox", [str(MAIN_PY), "-m", "sandbox", "--port", str(ports["sandbox"])], {})
        setup_database(args.database)
        sandbox = f"127.0.0.1:{ports['sandbox']}"
        django_env = {
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": args.database,
            "CELERY_BROKER_URL": args.redis,
            "SANDBOX_URL": f"http://{sandbox}",
            "GCE_METADATA_HOST": sandbox,
            "GCE_METADATA_IP": sandbox,
            "PLAYGROUND_STREAMS_PER_USER": "100000",
            "LOG_LEVEL": "WARNING",
        }
        env_all = {**os.environ, **django_env}
        migrate = [str(MAIN_PY), "manage.py", "migrate", "-v0"]
        subprocess.run(migrate, cwd=ROOT, env=env_all, check=True)  # noqa: S603
        made = subprocess.run(  # noqa: S603
            [str(MAIN_PY), str(HERE / "bench_data.py"), up, str(max(args.concurrency))],
            cwd=ROOT,
            env=env_all,
            check=True,
            capture_output=True,
            text=True,
        )
        data = json.loads(made.stdout.strip().splitlines()[-1])
        data["litellm_key"] = "sk-" + secrets.token_hex(16)  # LiteLLM refuses to start without one
        uvicorn = [
            str(MAIN_PY),
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        procs.start("hangar-lean", [*uvicorn, "--port", str(ports["lean"])], django_env)
        procs.start(
            "hangar-django",
            [*uvicorn, "--port", str(ports["django"])],
            {**django_env, "PLAYGROUND_LEAN_ROUTES": "false"},
        )
        paths = build_paths(data, ports, up)
        if "minimal" not in args.skip:
            procs.start(
                "minimal",
                [
                    str(BENCH_PY),
                    "-m",
                    "uvicorn",
                    "minimal_passthrough:app",
                    "--port",
                    str(ports["minimal"]),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                {"UPSTREAM": up},
                cwd=HERE,
            )
        if "litellm" not in args.skip:
            config = procs.logs / "litellm.yaml"
            config.write_text(
                "model_list:\n  - model_name: bench-model\n    litellm_params:\n"
                f"      model: openai/bench-model\n      api_base: {up}/v1\n      api_key: unused\n"
            )
            procs.start(
                "litellm",
                [
                    str(HERE / ".venv" / "bin" / "litellm"),
                    "--config",
                    str(config),
                    "--port",
                    str(ports["litellm"]),
                    "--host",
                    "127.0.0.1",
                ],
                {"LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": data["litellm_key"]},
                cwd=HERE,
            )
        asyncio.run(run_all(paths, args, ports))
    finally:
        procs.stop()
        print(f"\n(process logs in {procs.logs})")


def build_paths(data: dict[str, object], ports: dict[str, int], up: str) -> list[Path_]:
    body = {"model": "bench-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    sse = b'"content"'
    dep = data["deployment"]
    token = {"Authorization": f"Bearer {data['token']}"}
    sessions = data["sessions"]
    if not isinstance(sessions, list):
        raise TypeError("bench_data gives a list of sessions")
    cookie = {"Cookie": f"sessionid={data['session']}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
    chat = {
        "deployment": dep,
        "messages": [{"role": "user", "content": "hi"}],
        "model": "bench-model",
    }

    def hangar(port: int) -> str:
        return f"http://127.0.0.1:{port}"

    return [
        Path_("direct", f"{up}/v1/chat/completions", {}, body, sse),
        Path_(
            "minimal pass-through",
            f"http://127.0.0.1:{ports['minimal']}/v1/chat/completions",
            {},
            body,
            sse,
        ),
        Path_(
            "Hangar /openai (lean ASGI)",
            f"{hangar(ports['lean'])}/api/v1/deployments/{dep}/openai/v1/chat/completions",
            token,
            body,
            sse,
        ),
        Path_(
            "Hangar playground (lean ASGI)",
            f"{hangar(ports['lean'])}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
        ),
        Path_(
            "Hangar playground, many users",
            f"{hangar(ports['lean'])}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
            tuple(
                {"Cookie": f"sessionid={s}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
                for s in sessions
            ),
        ),
        Path_(
            "Hangar /openai (Django view)",
            f"{hangar(ports['django'])}/api/v1/deployments/{dep}/openai/v1/chat/completions",
            token,
            body,
            sse,
        ),
        Path_(
            "LiteLLM proxy",
            f"http://127.0.0.1:{ports['litellm']}/v1/chat/completions",
            {"Authorization": f"Bearer {data['litellm_key']}"},
            body,
            sse,
        ),
    ]


async def run_all(paths: list[Path_], args: argparse.Namespace, ports: dict[str, int]) -> None:
    wanted = [p for p in paths if not any(s.lower() in p.name.lower() for s in args.skip)]
    for p in wanted:
        await wait_http(p.url.split("/", 3)[0] + "//" + p.url.split("/", 3)[2] + "/", 120)
    rounds = {1: 40}
    results: dict[tuple[str, int], Sample] = {}
    for c in args.concurrency:
        for p in wanted:
            many = int(os.environ.get("BENCH_ROUNDS", "0"))  # more rounds, e.g. to profile
            sample = await measure(p, c, many or rounds.get(c, 3 if c <= 50 else 2))
            results[(p.name, c)] = sample
            await asyncio.sleep(1.0)  # let the last path's tail work (logging, writes) finish
            print(
                f"  measured {p.name:32} c={c:<4} "
                f"streams={len(sample.ttft)} errors={sample.errors}",
                flush=True,
            )
    print_table(wanted, args.concurrency, results, args)


def print_table(
    paths: list[Path_],
    levels: list[int],
    results: dict[tuple[str, int], Sample],
    args: argparse.Namespace,
) -> None:
    print(
        f"\n{args.chunks} chunks {args.interval * 1000:.0f} ms apart; times in ms at the client; "
        "added = TTFT p50 minus direct's at the same concurrency\n"
    )
    columns = ["TTFT p50", "TTFT p99", "added p50", "gap p50", "gap p99", "errors"]
    head = f"| {'path':32} | {'c':>4} | " + " | ".join(f"{c:>9}" for c in columns) + " |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for c in levels:
        direct = results.get(("direct", c))
        base = pct(direct.ttft, 0.5) if direct else float("nan")
        for p in paths:
            s = results[(p.name, c)]
            ttft50 = pct(s.ttft, 0.5)
            added = "" if p.name == "direct" else f"{ttft50 - base:+.1f}"
            cells = [f"{ttft50:9.1f}", f"{pct(s.ttft, 0.99):9.1f}", f"{added:>9}"]
            cells += [f"{pct(s.gaps, 0.5):9.1f}", f"{pct(s.gaps, 0.99):9.1f}", f"{s.errors:>9}"]
            print(f"| {p.name:32} | {c:>4} | " + " | ".join(cells) + " |")
    print()


if __name__ == "__main__":
    if not BENCH_PY.exists():
        sys.exit("Create the benchmark venv first: see benchmarks/playground/README.md")
    main()
