"""Server-side Table output: what `kubectl get` prints
(https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).

A client that sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` gets a
`meta.k8s.io/v1` Table: the kind's column definitions and one row per object, its cells
and the object's metadata as a PartialObjectMetadata (`includeObject=Metadata`, the
default; `None` leaves it out, `Object` gives the whole object). The columns are the API
server's printers' (kubernetes pkg/printers/internalversion/printers.go: Deployments
NAME READY UP-TO-DATE AVAILABLE AGE, Pods NAME READY STATUS RESTARTS AGE, ...; priority
1 columns are those `-o wide` adds); a custom resource has its CRD's
additionalPrinterColumns, or an Age column when it names none
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#additional-printer-columns);
ages read as the API server's `duration.HumanDuration` writes them.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.kube import custom_resources
from sandbox.kube.resources import Kind

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

Row = Callable[[dict[str, Any], float], list[Any]]
NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0}


def accepts_table(accept: str) -> bool:
    """Whether the Accept header asks for a Table first (kubectl get does)."""
    first = accept.split(",")[0].replace(" ", "")
    return "as=Table" in first and "g=meta.k8s.io" in first


def _col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "priority": priority}


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(obj: dict[str, Any], now: float, field: str = "creationTimestamp") -> str:
    at = _ts(obj["metadata"].get(field) if field in obj["metadata"] else obj.get(field))
    return "<unknown>" if at is None else human_duration(now - at)


# -- the printers ------------------------------------------------------------------------


def _pod_status(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for ctr in reversed(status.get("containerStatuses") or []):
        state = ctr.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod(pod: dict[str, Any], now: float) -> list[Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    total = len(pod["spec"].get("containers") or [])
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        _pod_status(pod),
        str(restarts),
        age(pod, now),
        (pod.get("status") or {}).get("podIP") or "<none>",
        pod["spec"].get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _deployment(d: dict[str, Any], now: float) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return [
        d["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        age(d, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
    ]


def _service(svc: dict[str, Any], now: float) -> list[Any]:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    if not external:
        external = "<pending>" if kind == "LoadBalancer" else "<none>"
    ports = [
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/"
        f"{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    ]
    selector = spec.get("selector") or {}
    return [
        svc["metadata"]["name"],
        kind,
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        age(svc, now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
    ]


def _node(node: dict[str, Any], now: float) -> list[Any]:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    status = "Ready" if ready else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(
        k.split("/", 1)[1]
        for k in node["metadata"].get("labels") or {}
        if k.startswith("node-role.kubernetes.io/")
    )
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        status,
        ",".join(roles) or "<none>",
        age(node, now),
        info.get("kubeletVersion", ""),
    ]


def _quota(quota: dict[str, Any], now: float) -> list[Any]:
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests = [f"{r}: {used.get(r, '0')}/{hard[r]}" for r in sorted(hard) if "limits" not in r]
    limits = [f"{r}: {used.get(r, '0')}/{hard[r]}" for r in sorted(hard) if "limits" in r]
    return [quota["metadata"]["name"], age(quota, now), ", ".join(requests), ", ".join(limits)]


def _event(ev: dict[str, Any], now: float) -> list[Any]:
    involved = ev.get("involvedObject") or {}
    last = _ts(ev.get("lastTimestamp")) or _ts(ev["metadata"].get("creationTimestamp"))
    return [
        human_duration(now - last) if last else "<unknown>",
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        ev.get("message", ""),
    ]


def _binding(b: dict[str, Any], now: float) -> list[Any]:
    ref = b.get("roleRef") or {}
    return [b["metadata"]["name"], f"{ref.get('kind')}/{ref.get('name')}", age(b, now)]


PRINTERS: dict[str, tuple[list[dict[str, Any]], Row]] = {
    "Pod": (
        [
            NAME,
            _col("Ready"),
            _col("Status"),
            _col("Restarts"),
            _col("Age"),
            _col("IP", priority=1),
            _col("Node", priority=1),
            _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1),
        ],
        _pod,
    ),
    "Deployment": (
        [
            NAME,
            _col("Ready"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Age"),
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _deployment,
    ),
    "ReplicaSet": (
        [
            NAME,
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Age"),
        ],
        lambda o, now: [
            o["metadata"]["name"],
            int(o["spec"].get("replicas", 0)),
            int((o.get("status") or {}).get("replicas", 0)),
            int((o.get("status") or {}).get("readyReplicas", 0)),
            age(o, now),
        ],
    ),
    "Service": (
        [
            NAME,
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            _col("Age"),
            _col("Selector", priority=1),
        ],
        _service,
    ),
    "Node": (
        [NAME, _col("Status"), _col("Roles"), _col("Age"), _col("Version")],
        _node,
    ),
    "Namespace": (
        [NAME, _col("Status"), _col("Age")],
        lambda o, now: [
            o["metadata"]["name"],
            (o.get("status") or {}).get("phase", ""),
            age(o, now),
        ],
    ),
    "ServiceAccount": (
        [NAME, _col("Secrets", "integer"), _col("Age")],
        lambda o, now: [o["metadata"]["name"], len(o.get("secrets") or []), age(o, now)],
    ),
    "ConfigMap": (
        [NAME, _col("Data", "integer"), _col("Age")],
        lambda o, now: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o, now),
        ],
    ),
    "Secret": (
        [NAME, _col("Type"), _col("Data", "integer"), _col("Age")],
        lambda o, now: [
            o["metadata"]["name"],
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            age(o, now),
        ],
    ),
    "ResourceQuota": ([NAME, _col("Age"), _col("Request"), _col("Limit")], _quota),
    "Event": (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        _event,
    ),
    "RoleBinding": ([NAME, _col("Role"), _col("Age")], _binding),
    "ClusterRoleBinding": ([NAME, _col("Role"), _col("Age")], _binding),
}
# Kinds whose printer is the API server's default: the name and when it was made.
CREATED_AT = ("Role", "ClusterRole", "CustomResourceDefinition")


def _jsonpath(obj: Any, path: str) -> Any:
    """The simple JSONPath of a printer column: `.a.b`, `.a[0].b`, `.a[?(@.k=="v")].b`."""
    value = obj
    for step in re.findall(r"\.([^.\[]+)|\[(\d+)\]|\[\?\(@\.(\w+)==[\"']([^\"']*)[\"']\)\]", path):
        name, index, key, wanted = step
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        elif index:
            fits = isinstance(value, list) and len(value) > int(index)
            value = value[int(index)] if fits else None
        else:
            matches = [v for v in value or [] if isinstance(v, dict) and v.get(key) == wanted]
            value = matches[0] if matches else None
        if value is None:
            return None
    return value


def _printer_columns(store: KubeStore, kind: Kind) -> list[dict[str, Any]] | None:
    for crd in store.list(custom_resources.CRDS, None):
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        if spec.get("group") != kind.group or plural != kind.plural:
            continue
        for version in spec.get("versions") or []:
            if version.get("name") == kind.version:
                return list(version.get("additionalPrinterColumns") or [])
    return None


def _custom(store: KubeStore, kind: Kind) -> tuple[list[dict[str, Any]], Row]:
    columns = _printer_columns(store, kind) or [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]

    def row(obj: dict[str, Any], now: float) -> list[Any]:
        cells: list[Any] = [obj["metadata"]["name"]]
        for column in columns:
            value = _jsonpath(obj, column.get("jsonPath", ""))
            if column.get("type") == "date" and isinstance(value, str):
                at = _ts(value)
                value = human_duration(now - at) if at is not None else value
            elif isinstance(value, dict | list):
                value = json.dumps(value)
            cells.append(value)
        return cells

    definitions = [NAME] + [
        _col(
            c["name"],
            c.get("type", "string"),
            int(c.get("priority", 0)),
            c.get("format", ""),
        )
        | {"description": c.get("description", "")}
        for c in columns
    ]
    return definitions, row


def _printer(store: KubeStore, kind: Kind) -> tuple[list[dict[str, Any]], Row]:
    if kind.kind in PRINTERS:
        return PRINTERS[kind.kind]
    if kind.kind in CREATED_AT or kind.group in ("", "apps", "rbac.authorization.k8s.io"):
        return [NAME, _col("Created At", "date")], lambda o, now: [
            o["metadata"]["name"],
            o["metadata"].get("creationTimestamp", ""),
        ]
    return _custom(store, kind)


def table(
    store: KubeStore,
    kind: Kind,
    objects: list[dict[str, Any]],
    resource_version: str,
    include: str = "Metadata",
) -> dict[str, Any]:
    columns, row = _printer(store, kind)
    now = time.time()
    rows = []
    for obj in objects:
        entry: dict[str, Any] = {"cells": row(obj, now)[: len(columns)]}
        if include == "Object":
            entry["object"] = obj
        elif include != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [{"description": "", **c} for c in columns],
        "rows": rows,
    }
