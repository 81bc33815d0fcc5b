"""The node lifecycle controller's record of a removed Node: what tells, once a node is gone
from the API, when it went.

Kubernetes' node lifecycle controller keeps the set of nodes it knows and, on a node's
deletion, records an Event on it: reason `RemovingNode`, message "Node NAME event: Removing
Node NAME from Controller", the involvedObject a Node reference with the node's uid, in the
`default` namespace as events about cluster-scoped objects are
(kubernetes pkg/controller/nodelifecycle/node_lifecycle_controller.go, `RecordNodeEvent`).
The sandbox's controller looks at the end of every settle, so the event carries the sandbox
clock of the settle that removed the node (the clock its creationTimestamp was taken on).
Events are not expired here (kube-apiserver's `--event-ttl` is an hour).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from sandbox.kube.resources import BY_PLURAL

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

NODES = BY_PLURAL[("", "v1", "nodes")]
EVENTS = BY_PLURAL[("", "v1", "events")]
KNOWN = ("node-lifecycle-controller", "known")


def observe(store: KubeStore) -> None:
    """Record RemovingNode for each known node no longer listed; know the listed ones."""
    known: dict[str, str] = store.workloads.setdefault(KNOWN, {})  # uid: name
    listed = {n["metadata"]["uid"]: n["metadata"]["name"] for n in store.list(NODES, None)}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(store.state.clock.now()))
    for uid, name in list(known.items()):
        if uid not in listed:
            _removing(store, uid, name, stamp)
            del known[uid]
    known.update(listed)


def _removing(store: KubeStore, uid: str, name: str, stamp: str) -> None:
    message = f"Node {name} event: Removing Node {name} from Controller"
    store.put_internal(
        EVENTS,
        "default",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{uuid.uuid4().hex[:16]}", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": name, "uid": uid, "apiVersion": "v1"},
            "reason": "RemovingNode",
            "message": message,
            "type": "Normal",
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": "node-controller"},
        },
    )
