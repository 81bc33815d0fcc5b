"""The Nodes of a sandbox cluster and the scheduler's choice among them, on the sandbox's
clock (`/_sandbox/clock`, sandbox/core/clock.py) so a test moves time instead of waiting.

- Every node carries GKE's labels (`cloud.google.com/gke-nodepool`,
  `node.kubernetes.io/instance-type`, `cloud.google.com/gke-accelerator`), its
  creationTimestamp and its GPUs as `status.capacity` / `allocatable` `nvidia.com/gpu`.
- The scheduler's filters, in the default profile's order
  (https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins): a node not
  Ready (taint `node.kubernetes.io/not-ready`), a GPU node's taint
  `nvidia.com/gpu=present:NoSchedule` for a pod that asks for no GPU (GKE taints GPU nodes
  when the cluster has other nodes, and the ExtendedResourceToleration admission plugin
  tolerates it for pods that request GPUs:
  https://cloud.google.com/kubernetes-engine/docs/how-to/gpus#gpu_pool), the nodeSelector,
  then the GPUs left (allocatable minus what the node's pods request). A pod that fits
  nowhere gets the scheduler's FitError wording: "0/N nodes are available: " and one count
  per reason, sorted, e.g. "1 Insufficient nvidia.com/gpu."
- Autopilot: a pod of a ComputeClass that fits no node gets a new node of the class's
  machine (https://cloud.google.com/kubernetes-engine/docs/how-to/node-auto-provisioning),
  the L4s it carries counted against the project's GPU quota in the region
  (`/_sandbox/iam` `gpu_quota`, the Cloud Quotas L4 limit); a node that hosts no pod is
  removed once it has been unneeded for 10 minutes, the cluster autoscaler's scale-down
  (`--scale-down-unneeded-time`;
  https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler, "Scaling
  down"). Once removed it is gone from the API; the node lifecycle controller's
  `RemovingNode` event tells when it went (`node_controller.py`).
- Standard: a node pool's nodes (initial_node_count in each of its zones) exist while the
  pool does, Ready while it is RUNNING (or RECONCILING); a pool with autoscaling on grows
  by a node for a pod that fits its nodes and nowhere else, up to max_node_count per zone
  (total_max_node_count in all), and loses an added node unneeded for 10 minutes; without
  autoscaling it never grows and the pod stays Pending
  (https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from google.cloud import container_v1
from google.protobuf.message import Message

from sandbox.kube.computeclass import GPUS_OF_MACHINE
from sandbox.kube.resources import BY_PLURAL
from sandbox.kube.status import rfc3339

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

NODES = BY_PLURAL[("", "v1", "nodes")]
PODS = BY_PLURAL[("", "v1", "pods")]
CLASSES = BY_PLURAL[("cloud.google.com", "v1", "computeclasses")]
SCALE_DOWN_UNNEEDED_SECONDS = 600.0
NODEPOOL = "cloud.google.com/gke-nodepool"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ACCELERATOR = "cloud.google.com/gke-accelerator"
COMPUTE_CLASS = "cloud.google.com/compute-class"
GPU = "nvidia.com/gpu"
L4 = "nvidia-l4"
PoolStatus = container_v1.NodePool.pb().Status
SERVING = (PoolStatus.RUNNING, PoolStatus.RECONCILING, PoolStatus.RUNNING_WITH_ERROR)


def _now(store: KubeStore) -> float:
    return store.state.clock.now()


def pod_gpus(pod_spec: dict[str, Any]) -> int:
    """The GPUs a pod requests: an extended resource's request defaults to its limit."""
    total = 0
    for container in pod_spec.get("containers", []):
        requests = (container.get("resources") or {}).get("requests") or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        total += int(str(requests.get(GPU, limits.get(GPU, 0))) or 0)
    return total


def _autopilot(store: KubeStore) -> bool:
    cluster = store.cluster_spec()
    return cluster is None or bool(cluster.autopilot.enabled)


def _node(store: KubeStore, name: str, labels: dict[str, str], gpus: int) -> dict[str, Any]:
    capacity = {GPU: str(gpus)} if gpus else {}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": rfc3339(_now(store))},
        "spec": {},
        "status": {
            "capacity": dict(capacity),
            "allocatable": dict(capacity),
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    store.put_internal(NODES, None, node)
    return node


def _ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _node_gpus(node: dict[str, Any]) -> int:
    return int(str((node.get("status", {}).get("allocatable") or {}).get(GPU, 0)))


def _used(store: KubeStore) -> tuple[Counter[str], Counter[str]]:
    """GPUs requested and pods, per node, by the pods bound to it."""
    gpus: Counter[str] = Counter()
    pods: Counter[str] = Counter()
    for pod in store.list(PODS, None):
        host = pod["spec"].get("nodeName")
        if host:
            gpus[host] += pod_gpus(pod["spec"])
            pods[host] += 1
    return gpus, pods


def _selector(pod_spec: dict[str, Any]) -> dict[str, str]:
    return dict(pod_spec.get("nodeSelector") or {})


def _why_not(
    store: KubeStore, node: dict[str, Any], pod_spec: dict[str, Any], used: int, pods: int
) -> str | None:
    """The first filter the node fails for the pod, worded as the scheduler counts it."""
    labels = node["metadata"].get("labels") or {}
    gpus = pod_gpus(pod_spec)
    if not _ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if _node_gpus(node) and not gpus and _tainted(store):
        return "node(s) had untolerated taint {nvidia.com/gpu: present}"
    selector = _selector(pod_spec)
    if any(labels.get(k) != v for k, v in selector.items()):
        return "node(s) didn't match Pod's node affinity/selector"
    if _autopilot(store):
        # Autopilot sizes a node to its pods: a class's node, and a pod per empty node
        # of a machine without GPUs (what Hangar's pods without a class ask for).
        if labels.get(INSTANCE_TYPE) != _machine_type(store, pod_spec):
            return "node(s) didn't match Pod's node affinity/selector"
        if not gpus and pods:
            return "Too many pods"
    if gpus and _node_gpus(node) - used < gpus:
        return f"Insufficient {GPU}"
    return None


def _tainted(store: KubeStore) -> bool:
    """GKE taints GPU nodes when the cluster also has nodes without GPUs (Autopilot: always)."""
    cluster = store.cluster_spec()
    if cluster is None or cluster.autopilot.enabled:
        return True
    return any(not len(p.config.accelerators) for p in cluster.node_pools)


def fit(store: KubeStore, pod: dict[str, Any]) -> tuple[str | None, str]:
    """The node the scheduler binds the pod to (the least busy that fits), or None and the
    FailedScheduling message."""
    used, pods = _used(store)
    reasons: Counter[str] = Counter()
    fits = []
    all_nodes = store.list(NODES, None)
    for node in all_nodes:
        name = node["metadata"]["name"]
        why = _why_not(store, node, pod["spec"], used[name], pods[name])
        if why is None:
            fits.append(name)
        else:
            reasons[why] += 1
    if fits:
        return min(fits, key=lambda n: (pods[n], n)), ""
    if not all_nodes:
        return None, "no nodes available to schedule pods"
    # FitError.Error(): "0/N nodes are available: " + sorted "COUNT REASON" joined by ", "
    # (kubernetes/pkg/scheduler/framework/types.go).
    counted = sorted(f"{n} {why}" for why, n in reasons.items())
    return None, f"0/{len(all_nodes)} nodes are available: {', '.join(counted)}."


# -- Autopilot ----------------------------------------------------------------------


def _class(store: KubeStore, pod_spec: dict[str, Any]) -> dict[str, Any] | None:
    wanted = _selector(pod_spec).get(COMPUTE_CLASS)
    return store.find(CLASSES, None, wanted) if wanted else None


def _machine(store: KubeStore, pod_spec: dict[str, Any]) -> dict[str, Any]:
    """The first priority of the pod's ComputeClass (machine and GPU), or {}."""
    found = _class(store, pod_spec)
    priorities = (found or {}).get("spec", {}).get("priorities") or [{}]
    return dict(priorities[0])


def _machine_type(store: KubeStore, pod_spec: dict[str, Any]) -> str:
    return str(_machine(store, pod_spec).get("machineType") or "e2-standard-4")


def _machine_gpus(machine: dict[str, Any]) -> tuple[str, int]:
    gpu = machine.get("gpu") or {}
    known = GPUS_OF_MACHINE.get(str(machine.get("machineType") or ""), ("", 0))
    return str(gpu.get("type") or known[0]), int(gpu.get("count") or known[1])


def _region(store: KubeStore) -> str:
    cluster = store.cluster_spec()
    location = str(cluster.location) if cluster is not None else ""
    return location.rsplit("-", 1)[0] if location.count("-") == 2 else location


def no_scale_up(store: KubeStore, pod_spec: dict[str, Any]) -> str | None:
    """Why Autopilot makes no node for the pod, as its noScaleUp event goes on after "pod
    didn't trigger scale-up" (None: it makes one)."""
    wanted = _selector(pod_spec).get(COMPUTE_CLASS)
    found = _class(store, pod_spec)
    if wanted and found is None:
        return (
            ": 1 node(s) didn't match Pod's node affinity/selector "
            f"(ComputeClass {wanted} not found)"
        )
    accelerator, node_gpus = _machine_gpus(_machine(store, pod_spec))
    gpus = pod_gpus(pod_spec)
    if gpus > node_gpus:
        # The autoscaler's noScaleUp wording: what the pod lacks on a node it could add.
        return (
            f" (it wouldn't fit if a new node is added): 1 Insufficient {GPU} "
            f"(ComputeClass {wanted} provisions nodes with {node_gpus})"
        )
    if accelerator == L4:
        # The project's GPU quota (Cloud Quotas' L4 limit in the region, /_sandbox/iam).
        region = _region(store)
        limit = store.state.setup.gpu_quota.get(region, 0)
        held = sum(
            _node_gpus(n)
            for n in store.list(NODES, None)
            if n["metadata"]["labels"].get(ACCELERATOR) == L4
        ) + sum(n["gpus"] for n in _coming(store).values() if n["labels"].get(ACCELERATOR) == L4)
        if held + node_gpus > limit:
            # The scale-up's error as GKE's autoscaler reports it (scale.up.error.quota.exceeded).
            return f": Quota 'NVIDIA_L4_GPUS' exceeded. Limit: {limit}.0 in region {region}."
    return None


def _coming(store: KubeStore) -> dict[str, dict[str, Any]]:
    """Autopilot nodes asked for and still booting, by name: their labels and GPUs."""
    return store.workloads.setdefault(("autopilot", "coming"), {})


def coming_node(store: KubeStore, pod_spec: dict[str, Any], awaited: dict[str, int]) -> str | None:
    """Autopilot: a node still being made for the pod's class with room for it once the
    pods already waiting for it (`awaited`: GPUs per node) are counted."""
    machine_type = _machine_type(store, pod_spec)
    gpus = pod_gpus(pod_spec)
    for name, node in _coming(store).items():
        if node["labels"].get(INSTANCE_TYPE) != machine_type:
            continue
        if (gpus and node["gpus"] - awaited.get(name, 0) >= gpus) or (
            not gpus and name not in awaited
        ):
            return name
    return None


def booting(store: KubeStore, name: str) -> dict[str, str] | None:
    """The labels of an Autopilot node still booting; None if it is not one."""
    coming = _coming(store).get(name)
    return dict(coming["labels"]) if coming else None


def provision(store: KubeStore, pod_spec: dict[str, Any]) -> str:
    """Ask for a new Autopilot node for the pod's class; its name. The Node joins the
    cluster (its creationTimestamp, Ready) once it has booted: the sandbox's operation
    delay later."""
    machine = _machine(store, pod_spec)
    machine_type = _machine_type(store, pod_spec)
    accelerator, gpus = _machine_gpus(machine)
    pool = f"nap-{machine_type}-{uuid.uuid4().hex[:8]}"
    name = f"gk3-{store.cluster.rsplit('/', 1)[-1]}-{pool}-{uuid.uuid4().hex[:4]}"
    labels = {NODEPOOL: pool, INSTANCE_TYPE: machine_type}
    wanted = _selector(pod_spec).get(COMPUTE_CLASS)
    if wanted:
        labels[COMPUTE_CLASS] = wanted
    if accelerator and gpus:
        labels[ACCELERATOR] = accelerator
    count = gpus if accelerator else 0
    _coming(store)[name] = {"labels": labels, "gpus": count}

    def booted() -> None:
        if _coming(store).pop(name, None) is not None:
            _node(store, name, labels, count)

    store.later(time.time() + float(store.state.config.operation_delay), booted)
    return name


# -- Standard -------------------------------------------------------------------------


def _pool_labels(pool: Message) -> tuple[dict[str, str], int]:
    labels = {NODEPOOL: pool.name, INSTANCE_TYPE: pool.config.machine_type}
    gpus = 0
    if len(pool.config.accelerators):
        labels[ACCELERATOR] = pool.config.accelerators[0].accelerator_type
        gpus = int(pool.config.accelerators[0].accelerator_count)
    return labels, gpus


def _added(store: KubeStore, pool: str) -> dict[str, Any]:
    return store.workloads.setdefault(("pool", pool), {"added": 0, "coming": 0})


def _pool_node_names(cluster: Message, pool: Message, added: int) -> list[str]:
    short = cluster.name[:20]
    zones = list(pool.locations) or [str(cluster.location)]
    names = [
        f"gke-{short}-{pool.name}-{zone[-1]}{i}"
        for zone in zones
        for i in range(pool.initial_node_count)
    ]
    first = zones[0][-1]
    return names + [
        f"gke-{short}-{pool.name}-{first}{pool.initial_node_count + i}" for i in range(added)
    ]


def grow_pool(store: KubeStore, pod: dict[str, Any]) -> str | None:
    """Standard: the autoscaled pool a new node of which would fit the pod, after counting
    one more node on it; None if no pool may grow for it."""
    cluster = store.cluster_spec()
    if cluster is None or cluster.autopilot.enabled:
        return None
    for pool in cluster.node_pools:
        scaling = pool.autoscaling
        if not scaling.enabled or pool.status not in SERVING:
            continue
        labels, gpus = _pool_labels(pool)
        probe = {
            "metadata": {"labels": labels},
            "status": {
                "allocatable": {GPU: str(gpus)} if gpus else {},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        if _why_not(store, probe, pod["spec"], 0, 0) is not None:
            continue
        zones = max(1, len(pool.locations))
        state = _added(store, pool.name)
        count = pool.initial_node_count * zones + state["added"] + state["coming"]
        most = scaling.total_max_node_count or scaling.max_node_count * zones
        if count >= most:
            continue
        state["coming"] += 1
        return f"{pool.name} {count}->{count + 1} (max: {most})"
    return None


def pool_grown(store: KubeStore, pool: str) -> None:
    state = _added(store, pool)
    state["coming"] = max(0, state["coming"] - 1)
    state["added"] += 1


def autoscaled(store: KubeStore) -> bool:
    cluster = store.cluster_spec()
    return cluster is not None and any(p.autoscaling.enabled for p in cluster.node_pools)


def refresh(store: KubeStore) -> None:
    """Standard: the node pools' nodes; Autopilot: the autoscaler's scale-down."""
    cluster = store.cluster_spec()
    if cluster is not None and not cluster.autopilot.enabled:
        _pool_nodes(store, cluster)
    else:
        _scale_down(store)


def _pool_nodes(store: KubeStore, cluster: Any) -> None:
    wanted: dict[str, tuple[dict[str, str], int, bool]] = {}
    busy = {p["spec"].get("nodeName") for p in store.list(PODS, None)}
    now = _now(store)
    for pool in cluster.node_pools:
        labels, gpus = _pool_labels(pool)
        state = _added(store, pool.name)
        names = _pool_node_names(cluster, pool, state["added"])
        # An added node unneeded for the scale-down delay goes (the last added first).
        last = names[-1] if state["added"] else None
        if last is not None and last not in busy:
            since = store.unneeded_since.setdefault(last, now)
            if now - since >= SCALE_DOWN_UNNEEDED_SECONDS:
                state["added"] -= 1
                store.unneeded_since.pop(last, None)
                names.pop()
        elif last is not None:
            store.unneeded_since.pop(last, None)
        for name in names:
            wanted[name] = (labels, gpus, pool.status in SERVING)
    for node in store.list(NODES, None):
        if node["metadata"]["name"] not in wanted:
            del store.objects[("", "nodes", "", node["metadata"]["name"])]
    for name, (labels, gpus, serving) in wanted.items():
        node = store.find(NODES, None, name) or _node(store, name, dict(labels), gpus)
        ready = "True" if serving else "False"
        if node["status"]["conditions"][0]["status"] != ready:
            node["status"]["conditions"] = [{"type": "Ready", "status": ready}]
            node["metadata"]["resourceVersion"] = store.fresh_version()


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
