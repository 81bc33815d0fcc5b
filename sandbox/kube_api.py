"""The Kubernetes API of a sandbox GKE cluster (one per cluster, sandbox/gke_control_plane.py).

Like GKE's API server it takes a Google OAuth access token as the bearer credential
(the GKE auth plugin sends one: https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication)
and answers errors as a Kubernetes `Status` object
(https://kubernetes.io/docs/reference/using-api/api-concepts/#status-object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.gke_control_plane import ControlPlane
    from sandbox.state import State

GIT_VERSION = "v1.34.1-gke.1829001"


class KubeStore:
    """Objects by (apiVersion group path, namespace, plural, name)."""

    def __init__(self, state: State, cluster: str) -> None:
        self.cluster = cluster
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def status(code: int, reason: str, message: str, **details: Any) -> web.Response:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


def _authorized(request: web.Request, state: State) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and state.tokens.access_token_valid(token.strip())


def build_app(state: State, plane: ControlPlane) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        state.advance()
        if not _authorized(request, state):
            return status(401, "Unauthorized", "Unauthorized")
        if request.method == "GET" and request.path == "/version":
            return web.json_response(
                {"major": "1", "minor": "34", "gitVersion": GIT_VERSION, "platform": "linux/amd64"}
            )
        return status(404, "NotFound", "the server could not find the requested resource")

    app = web.Application(client_max_size=8 * 2**20)
    app["plane"] = plane
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
