"""python -m sandbox --host 127.0.0.1 --port 8765"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from sandbox.core.config import Config, region_list
from sandbox.server.app import build_app
from sandbox.server.snapshot import Keeper


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Config()
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8765")))
    # The address others reach the sandbox at (deployed service URLs use it), when it
    # differs from the bind address, e.g. http://sandbox:8765 in docker compose.
    parser.add_argument("--public-url", default=os.environ.get("SANDBOX_PUBLIC_URL", ""))
    parser.add_argument("--operation-delay", type=float, default=defaults.operation_delay)
    parser.add_argument("--model-load-delay", type=float, default=defaults.model_load_delay)
    parser.add_argument("--token-delay", type=float, default=defaults.token_delay)
    parser.add_argument(
        "--account-propagation-delay", type=float, default=defaults.account_propagation_delay
    )
    # Where the state is kept across restarts (sandbox/server/snapshot.py); empty: memory only.
    parser.add_argument("--state-file", default=os.environ.get("SANDBOX_STATE_FILE", ""))
    # Regions (comma-separated) whose VPC has a proxy-only subnet from the start, which a
    # regional GKE Gateway needs: scripts/run's demo project has them where it deploys.
    parser.add_argument("--proxy-only-subnets", default=",".join(defaults.proxy_only_subnets))
    parser.add_argument("--project", default=defaults.project)
    parser.add_argument("--project-number", default=defaults.project_number)
    parser.add_argument("--service-account", default=defaults.service_account)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = Config(
        operation_delay=args.operation_delay,
        model_load_delay=args.model_load_delay,
        token_delay=args.token_delay,
        account_propagation_delay=args.account_propagation_delay,
        proxy_only_subnets=region_list(args.proxy_only_subnets),
        project=args.project,
        project_number=args.project_number,
        service_account=args.service_account,
    )
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    server = site._server
    if server is None or not server.sockets:  # type: ignore[attr-defined]
        raise RuntimeError("the server did not bind a socket")
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    # Service URLs must be reachable, so a wildcard bind advertises the loopback address.
    host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104
    app["state"].base_url = args.public_url.rstrip("/") or f"http://{host}:{port}"
    keeper = Keeper(app["state"], Path(args.state_file)) if args.state_file else None
    saving = keeper.start() if keeper is not None else None
    # Subnets made since are kept; the ones the command line names are there either way.
    app["state"].setup.proxy_only_subnets |= set(config.proxy_only_subnets)
    print(f"sandbox listening on http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if keeper is not None and saving is not None:
        keeper.stop(saving)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
