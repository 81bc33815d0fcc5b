"""The API server's service proxy: /api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH.

How Hangar reaches a model server that has no load balancer: through the control plane,
with the same Google credentials as every other Kubernetes call
(https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls).
The request goes to a ready pod the Service selects; with none, the API server answers
503 "no endpoints available for service". Behind it runs the sandbox's vLLM
OpenAI-compatible server (sandbox/model_servers/vllm_server.py), named and sized from the pod's
`--served-model-name` and `--max-model-len`; responses stream through unbuffered. A pod
started with `python -m vllm.entrypoints.api_server` runs vLLM's demo server, which has
no OpenAI routes: /v1/* answers 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.kube.resources import BY_PLURAL
from sandbox.kube.store import KubeError
from sandbox.model_servers import vllm_server

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.store import KubeStore

PROXY = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?:https?:)?(?P<name>[a-z0-9-]+)"
    r"(?::(?P<port>[a-z0-9-]+))?/proxy(?P<path>/.*)?$"
)
SERVICES = BY_PLURAL[("", "v1", "services")]
PODS = BY_PLURAL[("", "v1", "pods")]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _arg(container: dict[str, Any], flag: str) -> str | None:
    for arg in container.get("args") or []:
        if str(arg).startswith(f"{flag}="):
            return str(arg).split("=", 1)[1]
    return None


def _backend(store: KubeStore, namespace: str, name: str, port: str | None) -> dict[str, Any]:
    service = store.get(SERVICES, namespace, name)
    ports = {str(p.get("port")) for p in service["spec"].get("ports", [])} | {
        str(p.get("name")) for p in service["spec"].get("ports", []) if p.get("name")
    }
    if port is not None and port not in ports:
        raise KubeError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    selector = service["spec"].get("selector") or {}
    for pod in store.list(PODS, namespace):
        labels = pod["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in selector.items()) and _ready(pod):
            return pod
    raise KubeError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')


async def handle(
    request: web.Request, state: State, store: KubeStore, metrics: dict[str, Any]
) -> web.StreamResponse | None:
    """Proxy the request if it is a service proxy path; None if it is not one."""
    match = PROXY.match(request.path)
    if match is None:
        return None
    pod = _backend(store, match["ns"], match["name"], match["port"])
    container = pod["spec"]["containers"][0]
    model = _arg(container, "--served-model-name") or _arg(container, "--model") or ""
    length = _arg(container, "--max-model-len")
    key = f"{match['ns']}/{match['name']}"
    words = [str(w) for w in [*container.get("command", []), *container.get("args", [])]]
    server = vllm_server.VllmServer(
        model,
        int(length) if length and length.isdigit() else None,
        state.config.token_delay,
        metrics.setdefault(key, vllm_server.Metrics()),
        openai="vllm.entrypoints.api_server" not in words,
    )
    return await server.dispatch(request, match["path"] or "/", await request.read())
