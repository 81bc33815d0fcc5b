"""Streaming proxy benchmark: direct vs Hangar vs a minimal pass-through vs LiteLLM.

Starts, all on loopback: the paced upstream (upstream.py), the sandbox (only as the
metadata server that mints Hangar's ID tokens), Hangar under uvicorn as scripts/run
serves it, the minimal Starlette + aiohttp pass-through and LiteLLM's proxy (both from
this folder's own venv, see README.md). Then, for each concurrency, runs the paths
interleaved round by round (every path's first burst, then every path's second, ...;
LiteLLM last in each round, after a longer pause), each burst opening that many streams
at once, and measures at the client: time to first token, and the gap between chunks.
The many-callers paths give every stream a caller (a signed-in user, a team token) that
no earlier burst used. It prints medians with their spread across rounds, the load
average, and whether the targets were met.

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


@dataclass
class Path_:
    name: str
    url: str
    headers: dict[str, str]
    body: dict[str, object]
    marker: bytes  # bytes that mark one token in the stream
    # Callers to hand out, one per stream and never twice (a user's session, a token),
    # instead of `headers`; `used` counts those handed out.
    fresh: tuple[dict[str, str], ...] = ()
    used: int = 0

    def callers(self, n: int) -> list[dict[str, str]]:
        if not self.fresh:
            return [self.headers] * n
        if self.used + n > len(self.fresh):
            raise RuntimeError(f"{self.name}: not enough fresh callers (bench_data count)")
        taken = list(self.fresh[self.used : self.used + n])
        self.used += n
        return taken


@dataclass
class Sample:
    ttft: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    errors: int = 0


async def one_stream(
    http: aiohttp.ClientSession,
    path: Path_,
    headers: dict[str, str],
    go: asyncio.Event,
    s: Sample,
) -> None:
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


async def burst(http: aiohttp.ClientSession, path: Path_, concurrency: int) -> Sample:
    """`concurrency` streams opened at the same instant."""
    sample = Sample()
    go = asyncio.Event()
    tasks = [
        asyncio.ensure_future(one_stream(http, path, headers, go, sample))
        for headers in path.callers(concurrency)
    ]
    await asyncio.sleep(0.05)
    go.set()  # all at once
    await asyncio.gather(*tasks)
    return sample


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def median(values: list[float]) -> float:
    ordered = sorted(v for v in values if v == v)  # NaN left out
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


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
    parser.add_argument(
        "--base-port", type=int, default=0, help="five ports from here (default: any free ones)"
    )
    args = parser.parse_args()

    procs = Procs()
    names = ("up", "sandbox", "lean", "minimal", "litellm")
    ports = {k: args.base_port + i if args.base_port else free_port() for i, k in enumerate(names)}
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
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
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
            [str(MAIN_PY), str(HERE / "bench_data.py"), up, str(callers_needed(args.concurrency))],
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
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        procs.start("hangar-lean", [*uvicorn, "--port", str(ports["lean"])], django_env)
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
    sessions, tokens = data["sessions"], data["tokens"]
    if not isinstance(sessions, list) or not isinstance(tokens, list):
        raise TypeError("bench_data gives lists of sessions and tokens")
    cookie = {"Cookie": f"sessionid={data['session']}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
    chat = {
        "deployment": dep,
        "messages": [{"role": "user", "content": "hi"}],
        "model": "bench-model",
    }
    lean = f"http://127.0.0.1:{ports['lean']}"
    passthrough = f"/api/v1/deployments/{dep}/openai/v1/chat/completions"

    return [
        Path_("direct", f"{up}/v1/chat/completions", {}, body, sse),
        Path_(
            "minimal pass-through",
            f"http://127.0.0.1:{ports['minimal']}/v1/chat/completions",
            {},
            body,
            sse,
        ),
        Path_("Hangar /openai, one token", f"{lean}{passthrough}", token, body, sse),
        Path_(
            "Hangar /openai, new token each",
            f"{lean}{passthrough}",
            token,
            body,
            sse,
            tuple({"Authorization": f"Bearer {t}"} for t in tokens),
        ),
        Path_(
            "Hangar playground, one user",
            f"{lean}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
        ),
        Path_(
            "Hangar playground, new user each",
            f"{lean}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
            tuple(
                {"Cookie": f"sessionid={s}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
                for s in sessions
            ),
        ),
        Path_(
            "LiteLLM proxy",
            f"http://127.0.0.1:{ports['litellm']}/v1/chat/completions",
            {"Authorization": f"Bearer {data['litellm_key']}"},
            body,
            sse,
        ),
    ]


ROUNDS = {1: 30, 50: 5}  # and 3 above 50


def rounds_for(concurrency: int) -> int:
    many = int(os.environ.get("BENCH_ROUNDS", "0"))  # more rounds, e.g. to profile
    return many or ROUNDS.get(concurrency, 5 if concurrency <= 50 else 3)


def callers_needed(levels: list[int]) -> int:
    return sum(c * rounds_for(c) for c in levels)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


async def run_all(paths: list[Path_], args: argparse.Namespace, ports: dict[str, int]) -> None:
    wanted = [p for p in paths if not any(s.lower() in p.name.lower() for s in args.skip)]
    # LiteLLM last in each round: its work after a burst slows whatever runs next.
    wanted.sort(key=lambda p: p.name.startswith("LiteLLM"))
    for p in wanted:
        await wait_http(p.url.split("/", 3)[0] + "//" + p.url.split("/", 3)[2] + "/", 120)
    print(f"  before: {load()}", flush=True)
    results: dict[tuple[str, int], list[Sample]] = {}
    loads: dict[int, str] = {}
    for c in args.concurrency:
        sessions = {
            p.name: aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=300),
            )
            for p in wanted
        }
        try:
            for p in wanted:  # one warm-up stream each, with the path's own caller
                await one_stream(sessions[p.name], p, p.headers, _set(asyncio.Event()), Sample())
            for r in range(rounds_for(c)):
                for p in wanted:
                    sample = await burst(sessions[p.name], p, c)
                    results.setdefault((p.name, c), []).append(sample)
                    pause = 3.0 if p.name.startswith("LiteLLM") else (0.2 if c == 1 else 1.0)
                    await asyncio.sleep(pause)
                print(f"  c={c} round {r + 1} done; {load()}", flush=True)
        finally:
            for http in sessions.values():
                await http.close()
        loads[c] = load()
    print(f"  after: {load()}", flush=True)
    print_table(wanted, args.concurrency, results, args, loads)


def _round_p50s(samples: list[Sample]) -> list[float]:
    return [pct(s.ttft, 0.5) for s in samples]


def print_table(
    paths: list[Path_],
    levels: list[int],
    results: dict[tuple[str, int], list[Sample]],
    args: argparse.Namespace,
    loads: dict[int, str],
) -> None:
    print(
        f"\n{args.chunks} chunks {args.interval * 1000:.0f} ms apart; times in ms at the client. "
        "TTFT p50/p99 and gap p99 over every stream of every round; added = the median over "
        "rounds of (the path's TTFT p50 minus direct's in the same round), with its spread "
        "(lowest..highest round)\n"
    )
    columns = ["TTFT p50", "TTFT p99", "added p50", "spread", "gap p50", "gap p99", "errors"]
    head = f"| {'path':32} | {'c':>4} | " + " | ".join(f"{c:>9}" for c in columns) + " |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    added: dict[tuple[str, int], float] = {}
    gap99: dict[tuple[str, int], float] = {}
    for c in levels:
        direct = _round_p50s(results.get(("direct", c), []))
        for p in paths:
            samples = results[(p.name, c)]
            ttft = [t for s in samples for t in s.ttft]
            gaps = [g for s in samples for g in s.gaps]
            per_round = [
                mine - base for mine, base in zip(_round_p50s(samples), direct, strict=False)
            ]
            added[(p.name, c)] = median(per_round)
            gap99[(p.name, c)] = pct(gaps, 0.99)
            spread = f"{min(per_round):.0f}..{max(per_round):.0f}" if per_round else ""
            cells = [f"{pct(ttft, 0.5):9.1f}", f"{pct(ttft, 0.99):9.1f}"]
            cells += (
                ["", ""] if p.name == "direct" else [f"{added[(p.name, c)]:+9.1f}", f"{spread:>9}"]
            )
            cells += [f"{pct(gaps, 0.5):9.1f}", f"{gap99[(p.name, c)]:9.1f}"]
            cells += [f"{sum(s.errors for s in samples):>9}"]
            print(f"| {p.name:32} | {c:>4} | " + " | ".join(cells) + " |")
        print(f"| {'(' + loads.get(c, '') + ')':32} | {c:>4} |" + " |" * len(columns))
    print()
    print_targets(levels, added, gap99)


def print_targets(
    levels: list[int], added: dict[tuple[str, int], float], gap99: dict[tuple[str, int], float]
) -> None:
    """Issue 13's targets for the many-callers paths: added TTFT p50 within 2x the minimal
    pass-through's; at 50 and more, 10x below LiteLLM's; gap p99 within 1.5x minimal's."""
    minimal, litellm = "minimal pass-through", "LiteLLM proxy"
    print("| path | c | added p50 vs 2x minimal | 10x below LiteLLM | gap p99 vs 1.5x minimal |")
    print("|---|---|---|---|---|")
    for name in ("Hangar playground, new user each", "Hangar /openai, new token each"):
        for c in levels:
            if (name, c) not in added or (minimal, c) not in added:
                continue
            mine, floor = added[(name, c)], added[(minimal, c)]
            # A difference of a few ms is noise at 1 stream: 2x of ~1 ms is not a bound.
            within = mine <= max(2 * floor, floor + 2.0)
            ttft = f"{mine:.1f} vs {2 * floor:.1f}: {'met' if within else 'NOT met'}"
            lite = ""
            if c >= 50 and (litellm, c) in added:
                ratio = added[(litellm, c)] / mine if mine > 0 else float("inf")
                lite = f"{ratio:.0f}x: {'met' if ratio >= 10 else 'NOT met'}"
            g, gm = gap99[(name, c)], gap99[(minimal, c)]
            gap = f"{g:.1f} vs {1.5 * gm:.1f}: {'met' if g <= 1.5 * gm else 'NOT met'}"
            print(f"| {name} | {c} | {ttft} | {lite} | {gap} |")
    print()


if __name__ == "__main__":
    if not BENCH_PY.exists():
        sys.exit("Create the benchmark venv first: see benchmarks/playground/README.md")
    main()
