"""The data path of a sandbox GKE Gateway: a request to a programmed Gateway's address goes
through its HTTPRoute to the InferencePool, whose endpoint picker chooses a ready pod, and
the pod's vLLM answers for the base model or a loaded LoRA adapter.

A Gateway's address (10.128.x.y for `gke-l7-rilb`) is a VPC address: the portal reaches it
from inside the VPC. Here the sandbox stands in for that network: a client that uses the
sandbox's URL as its HTTP proxy (absolute-form requests, `Host: ADDRESS`) reaches the
Gateway at that address. What a real one answers when it cannot serve:
- no route for the path, or none Accepted: 404 (the load balancer's default);
- the pool's endpoint picker has no ready pod and fails closed (the CRD's default
  `FailClose`, https://gateway-api-inference-extension.sigs.k8s.io/api-types/inferencepool/):
  503;
- no ready model server pod: 503 "no healthy upstream" (Envoy's words, which GKE's
  regional load balancers are built on).
vLLM serves the base model (`--model`) and the adapters its lora-syncer has loaded: it
loads the `ensureExist` models of its ConfigMap and unloads the `ensureNotExist` ones,
leaving any other as it was (reference/gke.md 3.5); it can load only into a vLLM started
with `--enable-lora` and `VLLM_ALLOW_RUNTIME_LORA_UPDATING=true`. Asked for another model it
answers 404 as vLLM does.

The endpoint picker classifies each request under the InferenceObjective its
`x-gateway-inference-objective` header names (v1.0's pkg/epp/metadata/consts.go
ObjectiveKey), an objective of the pool in its namespace; a request without one, or naming
none the pool has, gets the default priority 0 (the CRD: "unset value is treated as 0").
The request log's entry records the classification (`objective`: header, name found,
priority), so a test sees what a caller's requests were served as.
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from sandbox.kube import gateway as kube_gateway
from sandbox.kube.control_plane import ControlPlanes
from sandbox.kube.proxy import _ready
from sandbox.model_servers import vllm_server

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.store import KubeStore

CONFIG_ENV = "DYNAMIC_LORA_ROLLOUT_CONFIG"
OBJECTIVE_HEADER = "x-gateway-inference-objective"
OBJECTIVE_GROUP = "inference.networking.x-k8s.io"


def _programmed(gateway: dict[str, Any]) -> bool:
    conditions = (gateway.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Programmed" and c["status"] == "True" for c in conditions)


def find(state: State, host: str) -> tuple[KubeStore, dict[str, Any]] | None:
    """The programmed Gateway at `host` (an address, optionally with the listener's port)."""
    address, _, port = host.partition(":")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None  # a host name: the sandbox itself (Gateways report IP addresses)
    if ip.is_loopback or not state.store(ControlPlanes).planes:
        return None
    for plane in list(state.store(ControlPlanes).planes.values()):
        store = plane.kube
        store.settle()
        kind = kube_gateway._kind(store, kube_gateway.GROUP, "gateways")
        for gateway in store.list(kind, None) if kind else []:
            addresses = [
                a.get("value") for a in (gateway.get("status") or {}).get("addresses") or []
            ]
            ports = {str(lst.get("port")) for lst in gateway["spec"].get("listeners") or []}
            if address in addresses and _programmed(gateway) and (port or "80") in ports:
                return store, gateway
    return None


def _routes_to_pool(store: KubeStore, gateway: dict[str, Any], path: str) -> dict[str, Any] | None:
    routes = kube_gateway._kind(store, kube_gateway.GROUP, "httproutes")
    pools = kube_gateway._kind(store, kube_gateway.POOL_GROUP, "inferencepools")
    name, ns = gateway["metadata"]["name"], gateway["metadata"]["namespace"]
    for route in store.list(routes, ns) if routes and pools else []:
        parents = (route.get("status") or {}).get("parents") or []
        if not any(p["parentRef"]["name"] == name and kube_gateway._accepted(p) for p in parents):
            continue
        for rule in route["spec"].get("rules") or []:
            prefixes = [
                (m.get("path") or {}).get("value", "/") for m in rule.get("matches") or [{}]
            ]
            if not any(path.startswith(p) for p in prefixes):
                continue
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind") == "InferencePool":
                    return store.find(pools, ns, ref["name"])
    return None


def _ready_pods(store: KubeStore, namespace: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    pods = store.list(store.kinds[("", "v1", "pods")], namespace)
    return [
        p
        for p in pods
        if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        and _ready(p)
    ]


def _picker_ready(store: KubeStore, pool: dict[str, Any]) -> bool:
    ref = pool["spec"]["endpointPickerRef"]
    ns = pool["metadata"]["namespace"]
    service = store.find(store.kinds[("", "v1", "services")], ns, ref["name"])
    if service is None:
        return False
    return bool(_ready_pods(store, ns, service["spec"].get("selector") or {}))


def _flag(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return str(args[i + 1])
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def loaded_adapters(store: KubeStore, pod: dict[str, Any]) -> tuple[str, ...]:
    """What the pod's lora-syncer has loaded into its vLLM (from the ConfigMap it reads)."""
    spec = pod["spec"]
    vllm = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in vllm.get("env") or []}
    if (
        "--enable-lora" not in (vllm.get("args") or [])
        or env.get("VLLM_ALLOW_RUNTIME_LORA_UPDATING") != "true"
    ):
        return ()
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for syncer in spec.get("initContainers") or []:
        config = {e["name"]: e.get("value") for e in syncer.get("env") or []}.get(CONFIG_ENV)
        if syncer.get("restartPolicy") != "Always" or not config:
            continue
        for mount in syncer.get("volumeMounts") or []:
            source = (volumes.get(mount["name"]) or {}).get("configMap")
            if not source or not config.startswith(mount["mountPath"].rstrip("/") + "/"):
                continue
            cm = store.find(
                store.kinds[("", "v1", "configmaps")], pod["metadata"]["namespace"], source["name"]
            )
            key = config[len(mount["mountPath"].rstrip("/")) + 1 :]
            text = ((cm or {}).get("data") or {}).get(key, "")
            lora = (yaml.safe_load(text) or {}).get("vLLMLoRAConfig") or {}
            wanted = [m["id"] for m in (lora.get("ensureExist") or {}).get("models") or []]
            dropped = {m["id"] for m in (lora.get("ensureNotExist") or {}).get("models") or []}
            # The syncer loads what is to exist and unloads what is not to; an adapter in
            # neither list stays as it was (it only ever acts on the two lists).
            key = ("lora", f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")
            held = store.workloads.setdefault(key, {}).setdefault("loaded", [])
            added = [w for w in wanted if w not in held]
            held[:] = [m for m in [*held, *added] if m not in dropped]
            return tuple(held)
    return ()


def _no_upstream() -> web.Response:
    return web.Response(status=503, text="no healthy upstream")


async def handle(
    request: web.Request, state: State, store: KubeStore, gateway: dict[str, Any], body: bytes
) -> web.StreamResponse:
    pool = _routes_to_pool(store, gateway, request.path)
    if pool is None:
        return web.Response(status=404, text="fault filter abort")
    ns = pool["metadata"]["namespace"]
    if not _picker_ready(store, pool):
        return _no_upstream()
    entry = request.get("log_entry")
    if entry is not None:
        entry["objective"] = classify(store, pool, request.headers.get(OBJECTIVE_HEADER, ""))
    pods = _ready_pods(store, ns, pool["spec"]["selector"]["matchLabels"])
    if not pods:
        return _no_upstream()
    pod = pods[0]
    args = [str(a) for a in pod["spec"]["containers"][0].get("args") or []]
    model = _flag(args, "--served-model-name") or _flag(args, "--model") or ""
    length = _flag(args, "--max-model-len")
    key = f"gateway:{ns}/{pool['metadata']['name']}"
    metrics = store.workloads.setdefault(("metrics", key), {}).setdefault(
        "vllm", vllm_server.Metrics()
    )
    adapters = loaded_adapters(store, pod)
    # vLLM answers for an adapter under the adapter's name, so the request's model picks
    # which name this server instance speaks as; anything else is refused by it (404).
    asked = _asked_model(body)
    server = LoraServer(
        asked if asked in adapters else model,
        int(length) if length and length.isdigit() else None,
        state.config.token_delay,
        metrics,
    )
    server.base, server.adapters = model, adapters
    return await server.dispatch(request, request.path, body)


def classify(store: KubeStore, pool: dict[str, Any], header: str) -> dict[str, Any]:
    """The objective the picker serves a request under: the one the header names, if it
    is the pool's, else none (priority 0)."""
    kind = kube_gateway._kind(store, OBJECTIVE_GROUP, "inferenceobjectives")
    found = store.find(kind, pool["metadata"]["namespace"], header) if kind and header else None
    if (
        found is not None
        and (found["spec"].get("poolRef") or {}).get("name") != pool["metadata"]["name"]
    ):
        found = None
    priority = int((found or {}).get("spec", {}).get("priority") or 0)
    return {"header": header, "name": header if found else "", "priority": priority}


def _asked_model(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    return str(data.get("model", "")) if isinstance(data, dict) else ""


class LoraServer(vllm_server.VllmServer):
    """vLLM with LoRA adapters loaded: /v1/models lists them after the base model, each
    with the base as its parent (reference/gke.md 5.1)."""

    base: str = ""
    adapters: tuple[str, ...] = ()

    async def models(self, request: web.Request, data: dict[str, Any]) -> web.Response:
        def card(name: str, parent: str | None) -> dict[str, Any]:
            return {
                "id": name,
                "object": "model",
                "created": int(time.time()),
                "owned_by": "vllm",
                "root": name,
                "parent": parent,
                "max_model_len": self.max_model_len,
            }

        cards = [card(self.base, None), *(card(a, self.base) for a in self.adapters)]
        return web.json_response({"object": "list", "data": cards})
