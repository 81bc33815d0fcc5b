"""One Kubernetes API server per sandbox GKE cluster, each on its own HTTPS port.

GKE gives every cluster its own control plane: an endpoint (an IP), a cluster CA, and an
API server that takes Google OAuth access tokens. Here each RUNNING cluster gets an
aiohttp server on an ephemeral port of the sandbox's host with a certificate signed by
that cluster's CA, serving sandbox/kube/api.py; deleting the cluster stops it.

Servers start from inside the sandbox's event loop (an operation settles while a
request is being served), so the socket is bound at once and the port is known before
get_cluster reports the endpoint; the site starts serving on the next loop turn, and a
client that connects sooner waits in the listen backlog.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.kube.tls import ClusterTls, make_cluster_tls

if TYPE_CHECKING:
    from sandbox.core.state import State


@dataclass
class ControlPlane:
    cluster: str
    endpoint: str
    tls: ClusterTls
    # What the Kubernetes API holds: sandbox/kube/api.py's store.
    kube: Any = None
    runner: web.AppRunner | None = None
    # vLLM's counters per proxied Service, kept across requests.
    metrics: dict[str, Any] = field(default_factory=dict)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def _ssl_context(tls: ClusterTls) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert.write_bytes(tls.cert_pem + tls.ca_pem)
        key.write_bytes(tls.key_pem)
        ctx.load_cert_chain(cert, key)
    return ctx


class ControlPlanes:
    def __init__(self, state: State) -> None:
        self._state = state
        self.planes: dict[str, ControlPlane] = {}

    def _host(self) -> str:
        host = urllib.parse.urlparse(self._state.base_url).hostname
        return host or "127.0.0.1"

    def start(self, cluster: str, spec: Callable[[], Any]) -> ControlPlane:
        """A new control plane for `cluster` (its full resource name); `spec` gives the
        cluster as GKE describes it now (sandbox/gke/clusters.py), None once deleted."""
        from sandbox.kube import store

        tls = make_cluster_tls(cluster.rsplit("/", 1)[-1], self._host())
        plane = ControlPlane(cluster=cluster, endpoint="", tls=tls)
        plane.kube = store.KubeStore(self._state, cluster, spec)
        self.listen(plane)
        return plane

    def listen(self, plane: ControlPlane, port: int = 0) -> None:
        """Serve `plane` on `port` (any free one with 0) and set its endpoint; a plane kept
        across a restart (sandbox/server/snapshot.py) asks for its old port back."""
        from sandbox.kube import api

        host = self._host()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The old port back after a restart, though its last connections linger in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        loopback = host in ("127.0.0.1", "localhost")
        sock.bind(("127.0.0.1" if loopback else "0.0.0.0", port))  # noqa: S104 - compose
        sock.listen(128)
        sock.setblocking(False)
        plane.endpoint = f"{host}:{sock.getsockname()[1]}"
        self.planes[plane.cluster] = plane
        app = api.build_app(self._state, plane)
        plane.runner = web.AppRunner(app, access_log=None)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the server (unit tests of the store): no listener
            sock.close()
            return
        plane.tasks.append(
            loop.create_task(self._serve(plane.runner, sock, _ssl_context(plane.tls)))
        )

    @staticmethod
    async def _serve(runner: web.AppRunner, sock: socket.socket, ctx: ssl.SSLContext) -> None:
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=ctx).start()

    def stop(self, cluster: str) -> None:
        plane = self.planes.pop(cluster, None)
        if plane is None or plane.runner is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        plane.tasks.append(loop.create_task(plane.runner.cleanup()))

    def get(self, cluster: str) -> ControlPlane | None:
        return self.planes.get(cluster)

    def by_endpoint(self, endpoint: str) -> ControlPlane | None:
        return next((p for p in self.planes.values() if p.endpoint == endpoint), None)

    def clear(self) -> None:
        for name in list(self.planes):
            self.stop(name)
