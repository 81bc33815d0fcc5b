"""GKE's Gateway controller in a sandbox cluster: the Gateway API it installs, and the
status it writes on Gateways, HTTPRoutes and InferencePools.

- Installed: "GKE Gateway is always enabled on Autopilot clusters"; on Standard it is
  there with `--gateway-api=standard` (container_v1 `gateway_api_config.channel`)
  (https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways). Then the
  standard-channel CRDs (sandbox/kube/crds/gateway-api-v1.4.1, unchanged upstream copies),
  GKE's GatewayClasses and its policy kinds (HealthCheckPolicy, GCPBackendPolicy:
  https://cloud.google.com/kubernetes-engine/docs/how-to/configure-gateway-resources)
  exist; otherwise none of them does (404, as a cluster without them answers).
- A Gateway of a GKE class is Accepted at once and Programmed, with an address, after
  the sandbox's operation delay (GKE takes minutes to program a load balancer). The
  regional classes (`gke-l7-rilb`, `gke-l7-regional-external-managed`) "must have a
  proxy-only subnet" in the cluster's region (same page): without one (a project setting
  of the sandbox, `/_sandbox/iam` `proxy_only_subnets`) the Gateway is never Programmed
  and a Warning event says why. Deleting it waits for GKE's finalizer (the load
  balancer's teardown).
- An HTTPRoute's parent status (https://gateway-api.sigs.k8s.io/reference/spec/#routeparentstatus):
  Accepted when its Gateway exists and is GKE's; ResolvedRefs when every backendRef
  names a Service or an InferencePool that exists (BackendNotFound, InvalidKind
  otherwise). An InferencePool routed to gets the same two conditions per Gateway.
- The address a Programmed Gateway reports is the controller's (a private address of the
  region's subnet for gke-l7-rilb, a public one otherwise), or whatever a test's
  `gateway_address` fault says: nothing in the API checks it.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from sandbox.kube import custom_resources
from sandbox.kube.status import rfc3339
from sandbox.kube.workloads import event

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

GROUP = "gateway.networking.k8s.io"
FINALIZER = "gateway.finalizer.networking.gke.io"
CONTROLLER = "networking.gke.io/gateway"
POOL_GROUP = "inference.networking.k8s.io"
# GKE's single-cluster GatewayClasses; the regional ones need a proxy-only subnet.
REGIONAL = frozenset({"gke-l7-rilb", "gke-l7-regional-external-managed"})
CLASSES = ("gke-l7-global-external-managed", "gke-l7-gxlb", *sorted(REGIONAL))
NO_SUBNET = (
    "An active proxy-only subnetwork is required in the same region and VPC as the forwarding rule."
)


def enabled(store: KubeStore) -> bool:
    pb = store.cluster_spec()
    if pb is None:
        return False
    channel = pb.network_config.gateway_api_config.channel
    # CHANNEL_EXPERIMENTAL = 3, CHANNEL_STANDARD = 4 (container_v1 GatewayAPIConfig).
    return bool(pb.autopilot.enabled) or channel in (3, 4)


def region_of(store: KubeStore) -> str:
    location = store.cluster.split("/locations/", 1)[1].split("/", 1)[0]
    parts = location.split("-")
    return "-".join(parts[:2]) if len(parts) > 2 else location


def install(store: KubeStore) -> None:
    """What GKE puts in a cluster that has its Gateway controller."""
    if not enabled(store):
        return
    for crd in [*custom_resources.load(custom_resources.GATEWAY_API), *policy_crds()]:
        store.apply(custom_resources.CRDS, None, crd, "addon-manager", True)
    classes = store.kinds[(GROUP, "v1", "gatewayclasses")]
    for name in CLASSES:
        body = {
            "apiVersion": f"{GROUP}/v1",
            "kind": "GatewayClass",
            "metadata": {"name": name},
            "spec": {"controllerName": CONTROLLER},
        }
        obj, _ = store.apply(classes, None, body, "addon-manager", True)
        obj["status"] = {"conditions": [_cond("Accepted", True, "Accepted", "", 1)]}


# -- GKE's policy kinds, as documented (GKE publishes no CRD files for them) -----------

_INT = {"type": "integer", "format": "int64"}
_TARGET_REF = {
    "type": "object",
    "required": ["group", "kind", "name"],
    "properties": {k: {"type": "string"} for k in ("group", "kind", "name", "namespace")},
}


def _bounded(low: int, high: int) -> dict[str, Any]:
    return {**_INT, "minimum": low, "maximum": high}


_HTTP_CHECK = {
    "type": "object",
    "properties": {
        "portSpecification": {
            "type": "string",
            "enum": ["USE_FIXED_PORT", "USE_NAMED_PORT", "USE_SERVING_PORT"],
        },
        "port": _bounded(1, 65535),
        "portName": {"type": "string"},
        "host": {"type": "string"},
        "requestPath": {"type": "string", "pattern": "^/"},
        "response": {"type": "string"},
        "proxyHeader": {"type": "string", "enum": ["NONE", "PROXY_V1"]},
    },
}
_POLICY_SPECS: dict[str, dict[str, Any]] = {
    "HealthCheckPolicy": {
        "checkIntervalSec": _bounded(1, 300),
        "timeoutSec": _bounded(1, 300),
        "healthyThreshold": _bounded(1, 10),
        "unhealthyThreshold": _bounded(1, 10),
        "logConfig": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
        "config": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["HTTP", "HTTPS", "HTTP2", "TCP", "GRPC"]},
                "httpHealthCheck": _HTTP_CHECK,
                "httpsHealthCheck": _HTTP_CHECK,
                "http2HealthCheck": _HTTP_CHECK,
            },
        },
    },
    "GCPBackendPolicy": {
        "timeoutSec": _bounded(1, 2147483647),
        "logging": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "sampleRate": _bounded(0, 1000000),
            },
        },
        "connectionDraining": {
            "type": "object",
            "properties": {"drainingTimeoutSec": _bounded(0, 3600)},
        },
        "sessionAffinity": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "cookieTtlSec": _bounded(0, 86400)},
        },
        "securityPolicy": {"type": "string"},
        "maxRatePerEndpoint": _bounded(1, 1000000000),
    },
}


def policy_crds() -> list[dict[str, Any]]:
    crds = []
    for kind, default in _POLICY_SPECS.items():
        plural = kind.lower()[:-1] + "ies"  # healthcheckpolicies, gcpbackendpolicies
        schema = {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "required": ["targetRef"],
                    "properties": {
                        "default": {"type": "object", "properties": default},
                        "targetRef": _TARGET_REF,
                    },
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
        crds.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.networking.gke.io"},
                "spec": {
                    "group": "networking.gke.io",
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                    "scope": "Namespaced",
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {"openAPIV3Schema": schema},
                        }
                    ],
                },
            }
        )
    return crds


# -- status ------------------------------------------------------------------------------


def _cond(kind: str, ok: bool, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": rfc3339(time.time()),
    }


def _same(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> bool:
    def key(conditions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (c["type"], c["status"], c["reason"], c.get("observedGeneration")) for c in conditions
        ]

    return key(old) == key(new)


def _set_conditions(target: dict[str, Any], conditions: list[dict[str, Any]]) -> None:
    """Keep lastTransitionTime when nothing changed, as controllers do."""
    if not _same(target.get("conditions") or [], conditions):
        target["conditions"] = conditions


def _kind(store: KubeStore, group: str, plural: str) -> Any:
    return next((k for k in store.kinds.values() if k.group == group and k.plural == plural), None)


def _reported_address(store: KubeStore, gateway: dict[str, Any]) -> str:
    """The address the controller writes once it has programmed the load balancer: its own,
    or what a `gateway_address` fault says (sandbox/core/faults.py): the API server checks
    no more than that it is a string."""
    meta = gateway["metadata"]
    path = f"/apis/{GROUP}/v1/namespaces/{meta['namespace']}/gateways/{meta['name']}"
    fault = store.state.faults.take("gateway_address", "GET", path)
    if fault is not None and fault.value is not None:
        return fault.value
    return _address(store, gateway)


def _address(store: KubeStore, gateway: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{store.cluster}/{gateway['metadata']['uid']}".encode()).digest()
    internal = gateway["spec"]["gatewayClassName"] == "gke-l7-rilb"
    return (
        f"10.128.{digest[0]}.{digest[1] or 1}"
        if internal
        else f"34.{digest[0]}.{digest[1]}.{digest[2] or 1}"
    )


def _gateway_status(store: KubeStore, gateway: dict[str, Any], routes: int, now: float) -> None:
    meta, spec = gateway["metadata"], gateway["spec"]
    gen = int(meta.get("generation", 1))
    if spec.get("gatewayClassName") not in CLASSES:
        return  # no controller of this class: the CRD's "Waiting for controller" stays
    seen = store.workloads.setdefault(("gateway", f"{meta['namespace']}/{meta['name']}"), {})
    first = seen.setdefault("seen_at", now)
    status = gateway.setdefault("status", {})
    subnet = spec["gatewayClassName"] not in REGIONAL or (
        region_of(store) in store.state.setup.proxy_only_subnets
    )
    programmed = subnet and now >= first + float(store.state.config.operation_delay)
    if not subnet and not seen.get("warned"):
        seen["warned"] = True
        event(
            store,
            gateway,
            "SYNC",
            f"failed to translate Gateway: {NO_SUBNET}",
            warning=True,
            component="sc-gateway-controller",
        )
    if programmed:
        if "address" not in seen:
            seen["address"] = _reported_address(store, gateway)
        status["addresses"] = [{"type": "IPAddress", "value": seen["address"]}]
        why = ("Programmed", "")
    elif not subnet:
        why = ("Invalid", NO_SUBNET)
    else:
        why = ("Pending", "Waiting for the load balancer to be programmed")
    _set_conditions(
        status,
        [
            _cond("Accepted", True, "Accepted", "", gen),
            _cond("Programmed", programmed, why[0], why[1], gen),
        ],
    )
    status["listeners"] = [
        {
            "name": listener["name"],
            "attachedRoutes": routes,
            "supportedKinds": [{"group": GROUP, "kind": "HTTPRoute"}],
            "conditions": [
                _cond("Accepted", True, "Accepted", "", gen),
                _cond("Programmed", programmed, why[0], why[1], gen),
                _cond("ResolvedRefs", True, "ResolvedRefs", "", gen),
                _cond("Conflicted", False, "NoConflicts", "", gen),
            ],
        }
        for listener in spec.get("listeners") or []
    ]


def _backend_problem(store: KubeStore, namespace: str, ref: dict[str, Any]) -> tuple[str, str]:
    group, kind = ref.get("group", ""), ref.get("kind", "Service")
    if (group, kind) == ("", "Service"):
        found = store.find(store.kinds[("", "v1", "services")], namespace, ref["name"])
    elif (group, kind) == (POOL_GROUP, "InferencePool"):
        pools = _kind(store, POOL_GROUP, "inferencepools")
        found = pools and store.find(pools, namespace, ref["name"])
    else:
        return "InvalidKind", f"Unsupported backend kind {group}/{kind}"
    if not found:
        return "BackendNotFound", f"{kind} {namespace}/{ref['name']} not found"
    return "", ""


def _route_parent(
    store: KubeStore, route: dict[str, Any], ref: dict[str, Any], gateways: Any
) -> dict[str, Any]:
    """The route's status for one of its parents, as GKE's controller writes it."""
    ns, gen = route["metadata"]["namespace"], int(route["metadata"].get("generation", 1))
    gw_ns = ref.get("namespace", ns)
    gateway = store.find(gateways, gw_ns, ref["name"])
    accepted = gateway is not None and gateway["spec"].get("gatewayClassName") in CLASSES
    problems = [
        _backend_problem(store, ns, b)
        for rule in route["spec"].get("rules") or []
        for b in rule.get("backendRefs") or []
    ]
    problem = next((p for p in problems if p[0]), ("", ""))
    conditions = [
        _cond(
            "Accepted",
            accepted,
            "Accepted" if accepted else "NoMatchingParent",
            "" if accepted else f"Gateway {gw_ns}/{ref['name']} not found",
            gen,
        ),
        _cond("ResolvedRefs", not problem[0], problem[0] or "ResolvedRefs", problem[1], gen),
    ]
    old: dict[str, Any] = next(
        (
            p
            for p in (route.get("status") or {}).get("parents") or []
            if p["parentRef"].get("name") == ref["name"]
        ),
        {},
    )
    _set_conditions(old, conditions)
    return {
        "parentRef": {"group": GROUP, "kind": "Gateway", **ref},
        "controllerName": CONTROLLER,
        "conditions": old["conditions"],
    }


def _accepted(parent: dict[str, Any]) -> bool:
    return any(c["type"] == "Accepted" and c["status"] == "True" for c in parent["conditions"])


def refresh(store: KubeStore, now: float) -> None:
    """Write what GKE's controller reports, from what the cluster holds now."""
    gateways = _kind(store, GROUP, "gateways")
    if gateways is None:
        return
    routes = _kind(store, GROUP, "httproutes")
    pools = _kind(store, POOL_GROUP, "inferencepools")
    attached: dict[tuple[str, str], int] = {}
    pool_parents: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for route in store.list(routes, None) if routes else []:
        ns = route["metadata"]["namespace"]
        parents = [
            _route_parent(store, route, ref, gateways)
            for ref in route["spec"].get("parentRefs") or []
        ]
        route["status"] = {"parents": parents}
        for parent in filter(_accepted, parents):
            ref = parent["parentRef"]
            where = (ref.get("namespace", ns), ref["name"])
            attached[where] = attached.get(where, 0) + 1
            for rule in route["spec"].get("rules") or []:
                for b in rule.get("backendRefs") or []:
                    if b.get("kind") == "InferencePool":
                        pool_parents.setdefault((ns, b["name"]), []).append(
                            {
                                "group": GROUP,
                                "kind": "Gateway",
                                "name": where[1],
                                "namespace": where[0],
                            }
                        )
    for gateway in store.list(gateways, None):
        meta = gateway["metadata"]
        _gateway_status(store, gateway, attached.get((meta["namespace"], meta["name"]), 0), now)
    for pool in store.list(pools, None) if pools else []:
        meta = pool["metadata"]
        gen = int(meta.get("generation", 1))
        ok = [
            _cond("Accepted", True, "Accepted", "", gen),
            _cond("ResolvedRefs", True, "ResolvedRefs", "", gen),
        ]
        parents = [
            {"parentRef": ref, "conditions": ok}
            for ref in pool_parents.get((meta["namespace"], meta["name"]), [])
        ]
        old = (pool.get("status") or {}).get("parents") or []
        if [p["parentRef"] for p in old] != [p["parentRef"] for p in parents]:
            pool["status"] = {"parents": parents}
