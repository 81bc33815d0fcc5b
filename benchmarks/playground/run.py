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

    def start(
        self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own interpreters and scripts
            args, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append(proc)
        print(f"  started {name} (pid {proc.pid})", flush=True)
        return proc

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
    server: str = ""  # whose CPU a burst of this path costs: "hangar", "minimal", "litellm"
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
    failures: list[str] = field(default_factory=list)  # what each error was
    streams: int = 0
    cpu: float = 0.0  # the serving process's CPU seconds over the burst
    cpu_db: float = 0.0  # and its Postgres backends' (Hangar only)
    load: float = float("nan")  # the 1-minute load average when the burst ended


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
                s.failures.append(f"{response.status} {(await response.read())[:120]!r}")
                return
            async for data in response.content.iter_any():
                count = data.count(path.marker)
                if not count:
                    continue
                now = time.perf_counter()
                if last is None:
                    s.ttft.append(now - started)
                    # Tokens that came with the first waited as long as it did.
                    s.gaps.extend([now - started] * (count - 1))
                else:
                    # Tokens that arrive together in one read each count the wait of that
                    # read: bunching shows as slow, never as a gap of 0.
                    s.gaps.extend([now - last] * count)
                last = now
    except aiohttp.ClientError as exc:
        s.errors += 1
        s.failures.append(type(exc).__name__)


async def burst(http: aiohttp.ClientSession, path: Path_, concurrency: int, meter: Meter) -> Sample:
    """`concurrency` streams opened at the same instant; the serving process's CPU over them."""
    sample = Sample(streams=concurrency)
    go = asyncio.Event()
    tasks = [
        asyncio.ensure_future(one_stream(http, path, headers, go, sample))
        for headers in path.callers(concurrency)
    ]
    await asyncio.sleep(0.05)
    before = await meter.read(path.server)
    go.set()  # all at once
    await asyncio.gather(*tasks)
    # Work a stream leaves for after it (records written in batches, slots given back)
    # is its cost too: wait for the writer's flush before reading the CPU again.
    await asyncio.sleep(0.3)
    after = await meter.read(path.server)
    sample.cpu, sample.cpu_db = after[0] - before[0], after[1] - before[1]
    sample.load = os.getloadavg()[0]
    return sample


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far; a gone one counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return total / TICKS


@dataclass
class Meter:
    """The serving processes' CPU: each server's own, and Hangar's Postgres backends'
    (found by database name). Redis is shared with the machine and not counted."""

    pids: dict[str, int]
    database: str

    async def read(self, server: str) -> tuple[float, float]:
        if server not in self.pids:
            return 0.0, 0.0
        own = cpu_of([self.pids[server]])
        if server != "hangar":
            return own, 0.0
        return own, cpu_of(await asyncio.to_thread(self._backends))

    def _backends(self) -> list[int]:
        import psycopg

        name = self.database.rsplit("/", 1)[1]
        with psycopg.connect(self.database.rsplit("/", 1)[0] + "/postgres") as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchall()
        return [int(r[0]) for r in rows]


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
    # None (`--concurrency` alone): only the keep-alive fault bursts.
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 50, 200])
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
    parser.add_argument(
        "--fault-rounds",
        type=int,
        default=3,
        help=f"rounds of {FAULT_STREAMS} streams with the upstream dropping reused connections",
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
            [
                str(MAIN_PY),
                str(HERE / "bench_data.py"),
                up,
                str(callers_needed(args.concurrency) + 2 * args.fault_rounds * FAULT_STREAMS),
            ],
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
        pids = {
            "hangar": procs.start(
                "hangar-lean", [*uvicorn, "--port", str(ports["lean"])], django_env
            ).pid
        }
        paths = build_paths(data, ports, up)
        if "minimal" not in args.skip:
            pids["minimal"] = procs.start(
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
            ).pid
        if "litellm" not in args.skip:
            config = procs.logs / "litellm.yaml"
            config.write_text(
                "model_list:\n  - model_name: bench-model\n    litellm_params:\n"
                f"      model: openai/bench-model\n      api_base: {up}/v1\n      api_key: unused\n"
            )
            pids["litellm"] = procs.start(
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
            ).pid
        asyncio.run(run_all(paths, args, Meter(pids, args.database), up))
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
            MINIMAL,
            f"http://127.0.0.1:{ports['minimal']}/v1/chat/completions",
            {},
            body,
            sse,
            "minimal",
        ),
        Path_("Hangar /openai, one token", f"{lean}{passthrough}", token, body, sse, "hangar"),
        Path_(
            OPENAI_NEW,
            f"{lean}{passthrough}",
            token,
            body,
            sse,
            "hangar",
            tuple({"Authorization": f"Bearer {t}"} for t in tokens),
        ),
        Path_(
            "Hangar playground, one user",
            f"{lean}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
            "hangar",
        ),
        Path_(
            PLAYGROUND_NEW,
            f"{lean}/playground/api/chat",
            cookie,
            chat,
            b"event: token",
            "hangar",
            tuple(
                {"Cookie": f"sessionid={s}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
                for s in sessions
            ),
        ),
        Path_(
            LITELLM,
            f"http://127.0.0.1:{ports['litellm']}/v1/chat/completions",
            {"Authorization": f"Bearer {data['litellm_key']}"},
            body,
            sse,
            "litellm",
        ),
    ]


MINIMAL = "minimal pass-through"
OPENAI_NEW = "Hangar /openai, new token each"
PLAYGROUND_NEW = "Hangar playground, new user each"
LITELLM = "LiteLLM proxy"
ROUNDS = {1: 30}  # and 8 at every other level
FAULT_STREAMS = 50
DROP_EVERY = 3  # the fault rounds' upstream drops every 3rd request on a reused connection


def rounds_for(concurrency: int) -> int:
    many = int(os.environ.get("BENCH_ROUNDS", "0"))  # more rounds, e.g. to profile
    return max(many or ROUNDS.get(concurrency, 8), 8)


def callers_needed(levels: list[int]) -> int:
    return sum(c * rounds_for(c) for c in levels)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


async def run_all(paths: list[Path_], args: argparse.Namespace, meter: Meter, up: str) -> None:
    wanted = [p for p in paths if not any(s.lower() in p.name.lower() for s in args.skip)]
    # LiteLLM last in each round: its work after a burst slows whatever runs next.
    wanted.sort(key=lambda p: p.name.startswith("LiteLLM"))
    for p in wanted:
        await wait_http(p.url.split("/", 3)[0] + "//" + p.url.split("/", 3)[2] + "/", 120)
    print(f"  before: {load()}", flush=True)
    results: dict[tuple[str, int], list[Sample]] = {}
    for c in args.concurrency:
        sessions = {p.name: _client() for p in wanted}
        try:
            for p in wanted:  # one warm-up stream each, with the path's own caller
                await one_stream(sessions[p.name], p, p.headers, _set(asyncio.Event()), Sample())
            for r in range(rounds_for(c)):
                for p in wanted:
                    sample = await burst(sessions[p.name], p, c, meter)
                    results.setdefault((p.name, c), []).append(sample)
                    pause = 3.0 if p.name.startswith("LiteLLM") else (0.2 if c == 1 else 1.0)
                    await asyncio.sleep(pause)
                print(f"  c={c} round {r + 1} done; {load()}", flush=True)
        finally:
            for http in sessions.values():
                await http.close()
    print(f"  after: {load()}", flush=True)
    print_table(wanted, args.concurrency, results, args)
    print_faults(await fault_rounds(wanted, args.fault_rounds, meter, up))


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=300)
    )


async def fault_rounds(
    paths: list[Path_], rounds: int, meter: Meter, up: str
) -> list[tuple[str, Sample, int, str]]:
    """Bursts while the upstream drops every DROP_EVERY-th request on a reused connection
    (the keep-alive race): each proxy's retry on a fresh connection shows as no errors."""
    chosen = [p for p in paths if p.name in (MINIMAL, OPENAI_NEW, PLAYGROUND_NEW)]
    out: list[tuple[str, Sample, int, str]] = []
    if not rounds or not chosen:
        return out
    async with aiohttp.ClientSession() as control:

        async def dropped() -> int:
            async with control.get(f"{up}/_faults") as r:
                return int((await r.json())["dropped"])

        async with control.post(f"{up}/_faults", json={"drop_reused": DROP_EVERY}) as r:
            r.raise_for_status()
        sessions = {p.name: _client() for p in chosen}
        try:
            for p in chosen:
                for _ in range(rounds):
                    # Two bursts half a second apart: the second finds the first's connections
                    # idle in the proxy's pool (kept UPSTREAM_KEEPALIVE_SECONDS) and reuses them.
                    for _ in range(2):
                        before = await dropped()
                        sample = await burst(sessions[p.name], p, FAULT_STREAMS, meter)
                        out.append((p.name, sample, await dropped() - before, load()))
                        await asyncio.sleep(0.5)
                    await asyncio.sleep(1.0)
        finally:
            for http in sessions.values():
                await http.close()
            async with control.post(f"{up}/_faults", json={"drop_reused": 0}) as r:
                r.raise_for_status()
    return out


def _round_p50s(samples: list[Sample]) -> list[float]:
    return [pct(s.ttft, 0.5) for s in samples]


def _per_stream_ms(samples: list[Sample], db: bool = False) -> float:
    streams = sum(s.streams for s in samples)
    used = sum(s.cpu + (s.cpu_db if db else 0.0) for s in samples)
    return used / streams * 1000 if streams else float("nan")


def _loads(samples: list[Sample]) -> str:
    values = [s.load for s in samples if s.load == s.load]
    if not values:
        return ""
    return f"{median(values):.2f} ({min(values):.1f}..{max(values):.1f})"


def print_table(
    paths: list[Path_],
    levels: list[int],
    results: dict[tuple[str, int], list[Sample]],
    args: argparse.Namespace,
) -> None:
    print(
        f"\n{args.chunks} chunks {args.interval * 1000:.0f} ms apart; times in ms at the client. "
        "TTFT p50/p99 and gap p50/p99 over every stream of every round (tokens that arrive "
        "together each count the wait of the read that brought them); added = the median "
        "over rounds of (the path's TTFT p50 minus direct's in the same round), with its "
        "spread (lowest..highest round); x min = added / the minimal pass-through's added; "
        "CPU = the serving process's CPU ms per stream (+db: with its Postgres backends); "
        "load = the 1-minute load average as each burst ended, median (lowest..highest), "
        f"{os.cpu_count()} cores\n"
    )
    columns = ["TTFT p50", "TTFT p99", "added p50", "spread", "x min", "gap p50", "gap p99"]
    columns += ["CPU", "CPU+db", "errors", "load"]
    head = f"| {'path':32} | {'c':>4} | " + " | ".join(f"{c:>9}" for c in columns) + " |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    added: dict[tuple[str, int], float] = {}
    cpu: dict[tuple[str, int], tuple[float, float]] = {}
    for c in levels:
        direct = _round_p50s(results.get(("direct", c), []))
        for p in paths:
            samples = results[(p.name, c)]
            per_round = [
                mine - base for mine, base in zip(_round_p50s(samples), direct, strict=False)
            ]
            added[(p.name, c)] = median(per_round)
            cpu[(p.name, c)] = (_per_stream_ms(samples), _per_stream_ms(samples, db=True))
        for p in paths:
            samples = results[(p.name, c)]
            ttft = [t for s in samples for t in s.ttft]
            gaps = [g for s in samples for g in s.gaps]
            per_round = [
                mine - base for mine, base in zip(_round_p50s(samples), direct, strict=False)
            ]
            spread = f"{min(per_round):.0f}..{max(per_round):.0f}" if per_round else ""
            floor = added.get((MINIMAL, c), float("nan"))
            ratio = added[(p.name, c)] / floor if floor > 0 else float("nan")
            cells = [f"{pct(ttft, 0.5):9.1f}", f"{pct(ttft, 0.99):9.1f}"]
            if p.name == "direct":
                cells += ["", "", ""]
            else:
                cells += [f"{added[(p.name, c)]:+9.1f}", f"{spread:>9}", f"{ratio:9.2f}"]
            cells += [f"{pct(gaps, 0.5):9.1f}", f"{pct(gaps, 0.99):9.1f}"]
            own, with_db = cpu[(p.name, c)]
            cells += [f"{own:9.2f}", f"{with_db:9.2f}"] if p.server else ["", ""]
            cells += [f"{sum(s.errors for s in samples):>9}", _loads(samples)]
            print(f"| {p.name:32} | {c:>4} | " + " | ".join(cells) + " |")
    print()
    print_targets(levels, added, cpu, results)


def print_targets(
    levels: list[int],
    added: dict[tuple[str, int], float],
    cpu: dict[tuple[str, int], tuple[float, float]],
    results: dict[tuple[str, int], list[Sample]],
) -> None:
    """Issue 24's targets for the many-callers paths, against the minimal pass-through only:
    added TTFT p50 at most 1.5x its added at 50 and 200 streams, at most 2 ms above it at
    one; CPU per stream at most 1.5x its CPU."""
    print(
        "| path | c | added TTFT vs the minimal pass-through | CPU/stream vs 1.5x minimal "
        "| with Postgres | load |"
    )
    print("|---|---|---|---|---|---|")
    for name in (PLAYGROUND_NEW, OPENAI_NEW):
        for c in levels:
            if (name, c) not in added or (MINIMAL, c) not in added:
                continue
            mine, floor = added[(name, c)], added[(MINIMAL, c)]
            if c == 1:
                ok = mine <= floor + 2.0
                ttft = f"{mine:.1f} vs {floor:.1f} + 2 ms: {'met' if ok else 'NOT met'}"
            else:
                ok = mine <= 1.5 * floor
                ratio = mine / floor if floor > 0 else float("inf")
                ttft = (
                    f"{mine:.1f} vs 1.5x {floor:.1f} ({ratio:.2f}x): {'met' if ok else 'NOT met'}"
                )
            (own, with_db), (base, _) = cpu[(name, c)], cpu[(MINIMAL, c)]
            verdict = [
                f"{v:.2f} vs {1.5 * base:.2f} ms ({v / base:.2f}x): "
                f"{'met' if v <= 1.5 * base else 'NOT met'}"
                for v in (own, with_db)
            ]
            loads = _loads(results[(name, c)])
            print(f"| {name} | {c} | {ttft} | {verdict[0]} | {verdict[1]} | {loads} |")
    print()


def print_faults(faults: list[tuple[str, Sample, int, str]]) -> None:
    if not faults:
        return
    print(
        f"Keep-alive faults: the upstream closes, unanswered, every {DROP_EVERY}rd request that "
        f"comes on a reused connection; {FAULT_STREAMS} streams a burst. A proxy that retries "
        "on a fresh connection shows no errors.\n"
    )
    print("| path | bursts | streams | dropped by the upstream | errors | TTFT p50 | load |")
    print("|---|---|---|---|---|---|---|")
    failures: list[str] = []
    for name in dict.fromkeys(n for n, *_ in faults):
        mine = [f for f in faults if f[0] == name]
        ttft = pct([t for _, s, _, _ in mine for t in s.ttft], 0.5)
        errors = sum(s.errors for _, s, _, _ in mine)
        streams = sum(s.streams for _, s, _, _ in mine)
        drops = sum(d for _, _, d, _ in mine)
        print(
            f"| {name} | {len(mine)} | {streams} | {drops} | {errors} | {ttft:.1f} "
            f"| {mine[-1][3]} |"
        )
        failures += [f"{name}: {f}" for _, s, _, _ in mine for f in s.failures]
    print()
    for failure in dict.fromkeys(failures):
        print(f"  error: {failure}")


if __name__ == "__main__":
    if not BENCH_PY.exists():
        sys.exit("Create the benchmark venv first: see benchmarks/playground/README.md")
    main()
