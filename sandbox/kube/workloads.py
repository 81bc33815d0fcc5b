"""What happens in a sandbox cluster after a Deployment is applied: its pod, the events
Kubernetes and GKE report, and the Deployment's status, moving with time.

- Admission: a pod past the namespace's ResourceQuota, or naming a service account that
  does not exist, is never created; the ReplicaSet reports FailedCreate
  (https://kubernetes.io/docs/concepts/policy/resource-quotas/).
- Scheduling on Autopilot: the pod's ComputeClass must exist and its nodes must carry the
  GPUs the pod asks for; otherwise the pod stays Pending with FailedScheduling, and the
  autoscaler reports NotTriggerScaleUp (no node it can make fits). When it fits, GKE
  scales up (TriggeredScaleUp), then the pod is scheduled after the sandbox's operation
  delay.
- Workload Identity (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity):
  the container reads gs://BUCKET as the Google account its Kubernetes account is annotated
  with, only if that account lets `serviceAccount:POOL[NS/KSA]` act as it
  (roles/iam.workloadIdentityUser) and may read the bucket. Otherwise it exits with the
  storage error and restarts with back-off: CrashLoopBackOff, as on GKE.
- Ready after the sandbox's model-load delay; the Deployment becomes Available. A pod not
  available by spec.progressDeadlineSeconds turns Progressing False with
  ProgressDeadlineExceeded
  (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.iam.account_policy import may_act_as
from sandbox.iam.service_accounts import AccountStore
from sandbox.kube.nodes import unschedulable as no_node_pool
from sandbox.kube.resources import BY_PLURAL
from sandbox.storage.api import StorageStore

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

PODS = BY_PLURAL[("", "v1", "pods")]
EVENTS = BY_PLURAL[("", "v1", "events")]
GPU = "nvidia.com/gpu"


def _rfc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _ref(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": obj["kind"],
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj["apiVersion"],
    }


def event(
    store: KubeStore,
    obj: dict[str, Any],
    reason: str,
    message: str,
    *,
    warning: bool = False,
    component: str = "default-scheduler",
    at: float | None = None,
) -> None:
    """Record an Event about `obj`, at `at` (the future events of a timeline wait for it)."""
    when = time.time() if at is None else at
    namespace = obj["metadata"].get("namespace") or "default"
    name = f"{obj['metadata']['name']}.{uuid.uuid4().hex[:16]}"
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": _ref(obj),
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "count": 1,
        "firstTimestamp": _rfc(when),
        "lastTimestamp": _rfc(when),
        "source": {"component": component},
    }
    store.later(when, lambda: store.put_internal(EVENTS, namespace, body))


def _gpus(template_spec: dict[str, Any]) -> int:
    total = 0
    for container in template_spec.get("containers", []):
        requests = (container.get("resources") or {}).get("requests") or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        total += int(str(requests.get(GPU, limits.get(GPU, 0))) or 0)
    return total


def _quota_refusal(store: KubeStore, namespace: str, gpus: int) -> str | None:
    for quota in store.list(BY_PLURAL[("", "v1", "resourcequotas")], namespace):
        hard = ((quota.get("spec") or {}).get("hard") or {}).get(f"requests.{GPU}")
        if hard is None:
            continue
        used = store.gpus_requested(namespace)
        if used + gpus > int(hard):
            name = quota["metadata"]["name"]
            return (
                f"exceeded quota: {name}, requested: requests.{GPU}={gpus}, "
                f"used: requests.{GPU}={used}, limited: requests.{GPU}={hard}"
            )
    return None


def _unschedulable(store: KubeStore, pod_spec: dict[str, Any], gpus: int) -> str | None:
    refused = no_node_pool(store.cluster_spec(), pod_spec, gpus)
    if refused:  # a Standard cluster: only its node pools' nodes exist
        return refused
    wanted = (pod_spec.get("nodeSelector") or {}).get("cloud.google.com/compute-class")
    if not wanted:
        return None
    classes = {
        c["metadata"]["name"]: c
        for c in store.list(BY_PLURAL[("cloud.google.com", "v1", "computeclasses")], None)
    }
    found = classes.get(wanted)
    if found is None:
        return f"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. ComputeClass {wanted} not found."  # noqa: E501
    node_gpus = max((r.get("gpu") or {}).get("count", 0) for r in found["spec"]["priorities"])
    if gpus > node_gpus:
        return f"0/3 nodes are available: 3 Insufficient {GPU}. ComputeClass {wanted} provisions nodes with {node_gpus}."  # noqa: E501
    return None


def storage_refusal(
    store: KubeStore, namespace: str, ksa: dict[str, Any], bucket: str
) -> str | None:
    """Why the pod cannot read gs://bucket as its Kubernetes account, as the client says it."""
    state = store.state
    gsa = (ksa["metadata"].get("annotations") or {}).get("iam.gke.io/gcp-service-account")
    member = f"serviceAccount:{store.workload_pool()}[{namespace}/{ksa['metadata']['name']}]"
    if gsa and (not state.store(AccountStore).exists(gsa) or not may_act_as(state, gsa, member)):
        return (
            "google.auth.exceptions.RefreshError: Unable to generate access token; IAM "
            "returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied "
            f"on resource (or it may not exist). ({member} may not act as {gsa})"
        )
    if not gsa or not state.store(StorageStore).can_read(bucket, gsa):
        who = gsa or f"{store.workload_pool()}[{namespace}/{ksa['metadata']['name']}]"
        return (
            f"403 GET https://storage.googleapis.com/storage/v1/b/{bucket}/o: {who} does not "
            "have storage.objects.list access to the Google Cloud Storage bucket. Permission "
            "'storage.objects.list' denied on resource (or it may not exist)."
        )
    return None


def _bucket(container: dict[str, Any]) -> str | None:
    for arg in [*container.get("args", []), *container.get("command", [])]:
        if str(arg).startswith("--model=gs://"):
            return str(arg)[len("--model=gs://") :].split("/", 1)[0]
    return None


def roll(store: KubeStore, deployment: dict[str, Any]) -> None:
    """Replace the Deployment's pod with one of its current template, and play it out."""
    meta = deployment["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    store.drop_pods(namespace, name)
    template = deployment["spec"]["template"]
    pod_spec = template["spec"]
    gpus = _gpus(pod_spec)
    now = time.time()
    store.deployment_state(namespace, name, started=now, ready_at=None, failed="")
    ksa_name = pod_spec.get("serviceAccountName") or "default"
    ksa = store.find(BY_PLURAL[("", "v1", "serviceaccounts")], namespace, ksa_name)
    refusal = _quota_refusal(store, namespace, gpus)
    if ksa is None:
        refusal = f'error looking up service account {namespace}/{ksa_name}: serviceaccount "{ksa_name}" not found'  # noqa: E501
    if refusal:
        event(
            store,
            deployment,
            "FailedCreate",
            f'Error creating: pods "{name}-" is forbidden: {refusal}',
            warning=True,
            component="replicaset-controller",
        )
        store.deployment_state(namespace, name, failed=f"FailedCreate: {refusal}")
        return
    if ksa is None:  # the refusal above said so
        return
    digest = hashlib.sha256(str(template).encode()).hexdigest()[:10]
    pod = store.new_pod(namespace, f"{name}-{digest}-{uuid.uuid4().hex[:5]}", template, deployment)
    unschedulable = _unschedulable(store, pod_spec, gpus)
    if unschedulable:
        event(store, pod, "FailedScheduling", unschedulable, warning=True)
        cluster = store.cluster_spec()
        if cluster is not None and cluster.autopilot.enabled:
            # Autopilot provisions nodes itself; when no node it could make fits the pod,
            # its autoscaler says so (noScaleUp, "pod didn't trigger scale-up":
            # https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-autoscaler-visibility).
            # A Standard cluster's pools here have no autoscaling: nothing says it there.
            event(
                store,
                pod,
                "NotTriggerScaleUp",
                f"pod didn't trigger scale-up: {unschedulable}",
                warning=False,
                component="cluster-autoscaler",
            )
        return
    _play(store, pod, deployment, ksa, now)


def _play(
    store: KubeStore,
    pod: dict[str, Any],
    deployment: dict[str, Any],
    ksa: dict[str, Any],
    now: float,
) -> None:
    cfg = store.state.config
    scheduled = now + float(cfg.operation_delay)
    loaded = scheduled + float(cfg.model_load_delay)
    namespace = pod["metadata"]["namespace"]
    event(
        store,
        pod,
        "TriggeredScaleUp",
        "pod triggered scale-up: [{gk3-autopilot-nap-h100 0->1 (max: 1000)}]",
        component="cluster-autoscaler",
    )
    event(
        store,
        pod,
        "Scheduled",
        f"Successfully assigned {namespace}/{pod['metadata']['name']} to gk3-autopilot-nap-h100-1",
        at=scheduled,
    )
    container = pod["spec"]["containers"][0]
    event(
        store,
        pod,
        "Pulled",
        f'Container image "{container["image"]}" already present on machine',
        component="kubelet",
        at=scheduled,
    )
    event(
        store,
        pod,
        "Started",
        f"Started container {container['name']}",
        component="kubelet",
        at=scheduled,
    )
    store.later(scheduled, _while_alive(store, pod, lambda: store.pod_running(pod)))
    # Workload Identity is checked when the container reads the bucket, as on GKE: a
    # binding granted while the pod waited for its node still counts.
    ksa_name = ksa["metadata"]["name"]
    load = _while_alive(store, pod, lambda: _load_weights(store, pod, deployment, ksa_name))
    store.later(loaded, load)


def _while_alive(
    store: KubeStore, pod: dict[str, Any], effect: Callable[[], None]
) -> Callable[[], None]:
    """`effect`, unless a newer rollout has replaced the pod by then."""

    def run() -> None:
        meta = pod["metadata"]
        if store.find(PODS, meta["namespace"], meta["name"]) is pod:
            effect()

    return run


def _load_weights(
    store: KubeStore, pod: dict[str, Any], deployment: dict[str, Any], ksa_name: str
) -> None:
    namespace = pod["metadata"]["namespace"]
    container = pod["spec"]["containers"][0]
    ksa = store.find(BY_PLURAL[("", "v1", "serviceaccounts")], namespace, ksa_name)
    bucket = _bucket(container)
    refusal = None
    if bucket and ksa is not None:
        refusal = storage_refusal(store, namespace, ksa, bucket)
    if refusal is None:
        store.pod_ready(pod, deployment)
        return
    store.pod_crashing(pod, refusal)
    back_off = (
        f"Back-off restarting failed container {container['name']} in pod {pod['metadata']['name']}"
    )
    event(store, pod, "BackOff", back_off, warning=True, component="kubelet")
    # The kubelet restarts it with a doubling back-off (10 s, 20 s, ... 5 min on a real
    # node; here the model-load delay, doubling up to 8 times it); each start reads the
    # bucket again, so a binding granted meanwhile lets it come up.
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    delay = float(store.state.config.model_load_delay) * min(2 ** (restarts - 1), 8)
    retry = _while_alive(store, pod, lambda: _load_weights(store, pod, deployment, ksa_name))
    store.later(time.time() + delay, retry)
