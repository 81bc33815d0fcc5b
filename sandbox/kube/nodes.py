"""The Nodes of a sandbox Autopilot cluster, as GKE makes and removes them, on the sandbox's
clock (`/_sandbox/clock`, sandbox/core/clock.py) so a test moves time instead of waiting.

- A GPU pod that fits is bound to a node of the machine its ComputeClass names: an empty
  node of that machine if there is one, else a new node GKE auto-provisions for it
  (https://cloud.google.com/kubernetes-engine/docs/how-to/node-auto-provisioning). The node
  carries GKE's labels (`cloud.google.com/gke-nodepool`, `node.kubernetes.io/instance-type`,
  `cloud.google.com/gke-accelerator`) and its creationTimestamp; the pod its spec.nodeName.
- A node that hosts no pod is removed once it has been unneeded for 10 minutes, the
  cluster autoscaler's scale-down (`--scale-down-unneeded-time`, 10 min by default;
  https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler, "Scaling
  down"). Once removed it is gone from the API: nothing tells when it went.
- On a Standard cluster a node pool's nodes (initial_node_count in each of its zones,
  no autoscaling) exist while the pool does, from the first read after it is asked for;
  a pod goes to the least busy node whose labels its nodeSelector names.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from google.cloud import container_v1
from google.protobuf.message import Message

from sandbox.kube.resources import BY_PLURAL

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

NODES = BY_PLURAL[("", "v1", "nodes")]
PODS = BY_PLURAL[("", "v1", "pods")]
SCALE_DOWN_UNNEEDED_SECONDS = 600.0
NODEPOOL = "cloud.google.com/gke-nodepool"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ACCELERATOR = "cloud.google.com/gke-accelerator"
GPU = "nvidia.com/gpu"
PoolStatus = container_v1.NodePool.pb().Status


def _now(store: KubeStore) -> float:
    return store.state.clock.now()


def _rfc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _machine(store: KubeStore, pod: dict[str, Any]) -> dict[str, Any]:
    """The first priority of the pod's ComputeClass (machine and GPU), or {}."""
    wanted = (pod["spec"].get("nodeSelector") or {}).get("cloud.google.com/compute-class")
    found = store.find(BY_PLURAL[("cloud.google.com", "v1", "computeclasses")], None, wanted or "")
    priorities = (found or {}).get("spec", {}).get("priorities") or [{}]
    return dict(priorities[0])


def _cluster(store: KubeStore) -> Any:
    return store.cluster_spec()


def _node(store: KubeStore, name: str, labels: dict[str, str]) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": _rfc(_now(store))},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    store.put_internal(NODES, None, node)


def bind(store: KubeStore, pod: dict[str, Any]) -> str:
    """The node the pod runs on: on Autopilot an empty one of its machine, or a new one; on
    Standard the least busy pool node its nodeSelector fits."""
    cluster = _cluster(store)
    if cluster is not None and not cluster.autopilot.enabled:
        return _standard_bind(store, pod)
    machine = _machine(store, pod)
    machine_type = str(machine.get("machineType") or "e2-standard-4")
    busy = {p["spec"].get("nodeName") for p in store.list(PODS, None)}
    for node in store.list(NODES, None):
        meta = node["metadata"]
        if meta["labels"].get(INSTANCE_TYPE) == machine_type and meta["name"] not in busy:
            store.unneeded_since.pop(meta["name"], None)
            return str(meta["name"])
    pool = f"nap-{machine_type}-{uuid.uuid4().hex[:8]}"
    name = f"gk3-{store.cluster.rsplit('/', 1)[-1]}-{pool}-{uuid.uuid4().hex[:4]}"
    labels = {NODEPOOL: pool, INSTANCE_TYPE: machine_type}
    if (machine.get("gpu") or {}).get("type"):
        labels[ACCELERATOR] = machine["gpu"]["type"]
    _node(store, name, labels)
    return name


def _standard_bind(store: KubeStore, pod: dict[str, Any]) -> str:
    selector = pod["spec"].get("nodeSelector") or {}
    load: dict[str, int] = {}
    for other in store.list(PODS, None):
        host = other["spec"].get("nodeName")
        load[host] = load.get(host, 0) + 1
    fits = [
        n["metadata"]["name"]
        for n in store.list(NODES, None)
        if all(n["metadata"]["labels"].get(k) == v for k, v in selector.items() if "/" in k)
    ]
    # unschedulable() let the pod through only when a running pool fits it.
    return min(fits, key=lambda name: load.get(name, 0)) if fits else "gke-pool-node"


def refresh(store: KubeStore) -> None:
    """Standard: the node pools' nodes; Autopilot: the autoscaler's scale-down."""
    cluster = _cluster(store)
    if cluster is not None and not cluster.autopilot.enabled:
        _pool_nodes(store, cluster)
    else:
        _scale_down(store)


def _pool_nodes(store: KubeStore, cluster: Any) -> None:
    wanted: dict[str, dict[str, str]] = {}
    short = cluster.name[:20]
    for pool in cluster.node_pools:
        labels = {NODEPOOL: pool.name, INSTANCE_TYPE: pool.config.machine_type}
        if len(pool.config.accelerators):
            labels[ACCELERATOR] = pool.config.accelerators[0].accelerator_type
        for zone in pool.locations:
            for i in range(pool.initial_node_count):
                wanted[f"gke-{short}-{pool.name}-{zone[-1]}{i}"] = labels
    for node in store.list(NODES, None):
        if node["metadata"]["name"] not in wanted:
            del store.objects[("", "nodes", "", node["metadata"]["name"])]
    for name, labels in wanted.items():
        if store.find(NODES, None, name) is None:
            _node(store, name, dict(labels))


def _scale_down(store: KubeStore) -> None:
    """Remove the nodes unneeded for the autoscaler's delay; note when others became so."""
    now = _now(store)
    busy = {p["spec"].get("nodeName") for p in store.list(PODS, None)}
    for node in store.list(NODES, None):
        name = node["metadata"]["name"]
        if name in busy:
            store.unneeded_since.pop(name, None)
            continue
        since = store.unneeded_since.setdefault(name, now)
        if now - since >= SCALE_DOWN_UNNEEDED_SECONDS:
            del store.objects[("", "nodes", "", name)]
            del store.unneeded_since[name]


def unschedulable(cluster: Message | None, pod_spec: dict[str, Any], gpus: int) -> str | None:
    """Why a pod finds no node on a Standard cluster's pools, as the scheduler says it; None
    when one fits (Autopilot makes its nodes: not checked here). A pod that asks for GPUs,
    or names a pool (`cloud.google.com/gke-nodepool`) or an accelerator
    (`cloud.google.com/gke-accelerator`), needs a RUNNING pool that has them."""
    if cluster is None or cluster.autopilot.enabled:
        return None
    selector = pod_spec.get("nodeSelector") or {}
    wanted_pool = selector.get("cloud.google.com/gke-nodepool")
    wanted_gpu = selector.get("cloud.google.com/gke-accelerator")
    if not (gpus or wanted_pool or wanted_gpu):
        return None
    nodes = 0
    for pool in cluster.node_pools:
        count = pool.initial_node_count * max(1, len(pool.locations))
        nodes += count
        accel = pool.config.accelerators[0] if len(pool.config.accelerators) else None
        if pool.status != PoolStatus.RUNNING or (wanted_pool and pool.name != wanted_pool):
            continue
        if wanted_gpu and (accel is None or accel.accelerator_type != wanted_gpu):
            continue
        if gpus and (accel is None or accel.accelerator_count < gpus):
            continue
        return None
    return (
        f"0/{nodes} nodes are available: {nodes} node(s) didn't match Pod's node "
        f"affinity/selector, or had insufficient {GPU}."
    )
