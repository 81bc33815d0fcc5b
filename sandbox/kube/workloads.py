"""What the cluster's controllers do after a Deployment is applied: its ReplicaSets, one
pod per replica, the scheduler's choice of node, the containers, and the events Kubernetes
and GKE report.

- The Deployment controller
  (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/): each pod
  template gets a ReplicaSet named `<deployment>-<pod-template-hash>`, labelled
  `pod-template-hash` (so are its pods) and owned by the Deployment (ownerReferences: the
  garbage collector in store.py removes it with the Deployment, and its pods with it). A
  template change is a rollout: a new ReplicaSet scaled up while the old ones are scaled
  down, never more than replicas + maxSurge pods in all and never fewer available than
  replicas - maxUnavailable (#max-surge rounds up, #max-unavailable rounds down; both 0
  makes maxUnavailable 1); `Recreate` removes the old pods first (#recreate-deployment).
- The ReplicaSet controller: one pod per replica, named `<replicaset>-<5 characters>`;
  admission may refuse one (a ResourceQuota, a missing service account: FailedCreate,
  https://kubernetes.io/docs/concepts/policy/resource-quotas/) and it is tried again; a
  ReplicaSet scaled down deletes unscheduled, then unready, then the newest pods first.
- The scheduler and the autoscalers (nodes.py): a pod lands on a node with room for the
  GPUs it asks for, or stays Pending with FailedScheduling naming what is short; Autopilot
  makes a node for it (TriggeredScaleUp) or says why not (NotTriggerScaleUp); a Standard
  pool grows only with autoscaling on.
- Workload Identity (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity):
  the container reads gs://BUCKET as the Google account its Kubernetes account is annotated
  with, only if that account lets `serviceAccount:POOL[NS/KSA]` act as it
  (roles/iam.workloadIdentityUser) and may read the bucket. Otherwise it exits with the
  storage error; a bucket or path with no `config.json` makes vLLM exit with its own
  ValueError (vllm/transformers_utils/config.py, get_config). Either way the kubelet
  restarts it with back-off: CrashLoopBackOff, restartCount growing.
- Ready after the sandbox's model-load delay.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.iam.account_policy import may_act_as
from sandbox.iam.service_accounts import AccountStore
from sandbox.kube import nodes
from sandbox.kube.resources import BY_PLURAL
from sandbox.kube.status import owner_ref, rfc3339
from sandbox.storage.api import StorageStore

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

PODS = BY_PLURAL[("", "v1", "pods")]
EVENTS = BY_PLURAL[("", "v1", "events")]
REPLICASETS = BY_PLURAL[("apps", "v1", "replicasets")]
DEPLOYMENTS = BY_PLURAL[("apps", "v1", "deployments")]
GPU = "nvidia.com/gpu"
HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
# What Kubernetes' rand.String and SafeEncodeString draw from (no vowels, no 0, 1, 3).
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


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
        "firstTimestamp": rfc3339(when),
        "lastTimestamp": rfc3339(when),
        "source": {"component": component},
    }
    if at is None:
        store.put_internal(EVENTS, namespace, body)
    else:
        store.later(when, lambda: store.put_internal(EVENTS, namespace, body))


def _once(store: KubeStore, key: tuple[str, str], what: str) -> bool:
    """Whether `what` is new for `key` (the scheduler and controllers repeat an unchanged
    event as a count on the first one; the sandbox records it once)."""
    seen = store.workloads.setdefault(key, {}).setdefault("said", [])
    if what in seen:
        return False
    seen.append(what)
    return True


def _gpus(template_spec: dict[str, Any]) -> int:
    return nodes.pod_gpus(template_spec)


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
    if bucket not in state.store(StorageStore).buckets:
        # Cloud Storage answers 404 for a bucket that does not exist, before permissions.
        return (
            "google.api_core.exceptions.NotFound: 404 GET https://storage.googleapis.com/"
            f"storage/v1/b/{bucket}/o: The specified bucket does not exist."
        )
    if not gsa or not state.store(StorageStore).can_read(bucket, gsa):
        who = gsa or f"{store.workload_pool()}[{namespace}/{ksa['metadata']['name']}]"
        return (
            f"403 GET https://storage.googleapis.com/storage/v1/b/{bucket}/o: {who} does not "
            "have storage.objects.list access to the Google Cloud Storage bucket. Permission "
            "'storage.objects.list' denied on resource (or it may not exist)."
        )
    return None


def _model_path(container: dict[str, Any]) -> str | None:
    args = [str(a) for a in [*container.get("args", []), *container.get("command", [])]]
    for i, arg in enumerate(args):
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
        if arg == "--model" and i + 1 < len(args):
            return args[i + 1]
    return None


def _bucket(container: dict[str, Any]) -> str | None:
    model = _model_path(container) or ""
    return model[len("gs://") :].split("/", 1)[0] if model.startswith("gs://") else None


def weights_missing(store: KubeStore, container: dict[str, Any]) -> str | None:
    """vLLM's own error when gs://BUCKET[/PATH] holds no model (an empty bucket, a wrong
    path or model id under it): no config.json there is vLLM's ValueError
    (vllm/transformers_utils/config.py, get_config: no config.json nor params.json)."""
    model = _model_path(container) or ""
    if not model.startswith("gs://"):
        return None
    bucket, _, prefix = model[len("gs://") :].partition("/")
    stored = store.state.store(StorageStore).buckets.get(bucket)
    if stored is None:
        return None  # storage_refusal's 404
    config = f"{prefix.strip('/')}/config.json".lstrip("/")
    if config in stored.objects:
        return None
    return "\n".join(
        [
            "(APIServer pid=1) Traceback (most recent call last):",
            '(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/vllm/'
            'transformers_utils/config.py", line 612, in get_config',
            "(APIServer pid=1)     raise ValueError(",
            f"(APIServer pid=1) ValueError: Invalid repository ID or local directory "
            f"specified: '{model}'.",
            "Please verify the following requirements:",
            "1. Provide a valid Hugging Face repository ID.",
            "2. Specify a local directory that contains a recognized configuration file.",
            "   - For Hugging Face models: ensure the presence of a 'config.json'.",
            "   - For Mistral models: ensure the presence of a 'params.json'.",
        ]
    )


# -- the Deployment controller ------------------------------------------------------------


def template_hash(template: dict[str, Any]) -> str:
    """A pod-template-hash: a hash of the template in Kubernetes' safe alphabet (the real
    one is FNV-32a of the template's Go printing; only its stability matters)."""
    digest = hashlib.sha256(repr(sorted_items(template)).encode()).digest()
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in digest[:10])


def sorted_items(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, sorted_items(v)) for k, v in sorted(value.items())]
    if isinstance(value, list):
        return [sorted_items(v) for v in value]
    return value


def _scaled(value: Any, replicas: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: a percentage of replicas, rounded up for
    maxSurge and down for maxUnavailable
    (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge)."""
    text = str(value)
    if text.endswith("%"):
        share = int(text[:-1]) * replicas
        return -(-share // 100) if round_up else share // 100
    return int(text)


def surge_and_unavailable(deployment: dict[str, Any]) -> tuple[int, int]:
    """maxSurge and maxUnavailable as numbers of pods (deploymentutil.ResolveFenceposts):
    both 0 makes maxUnavailable 1; Recreate (or no replicas) allows no unavailability
    beyond what it removes."""
    spec = deployment["spec"]
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def owned(store: KubeStore, kind: Any, namespace: str, uid: str) -> list[dict[str, Any]]:
    return [
        obj
        for obj in store.list(kind, namespace)
        if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
        and not obj["metadata"].get("deletionTimestamp")
    ]


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _new_replicaset(
    store: KubeStore, deployment: dict[str, Any], digest: str, revision: int, replicas: int
) -> dict[str, Any]:
    meta, spec = deployment["metadata"], deployment["spec"]
    template = {
        **spec["template"],
        "metadata": {
            **(spec["template"].get("metadata") or {}),
            "labels": {**(spec["template"].get("metadata") or {}).get("labels", {}), HASH: digest},
        },
    }
    selector = spec.get("selector") or {}
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{digest}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                "deployment.kubernetes.io/max-replicas": str(
                    int(spec.get("replicas", 1)) + surge_and_unavailable(deployment)[0]
                ),
            },
            "ownerReferences": [owner_ref(deployment)],
            "generation": 1,
        },
        "spec": {
            "replicas": replicas,
            "selector": {
                **selector,
                "matchLabels": {**(selector.get("matchLabels") or {}), HASH: digest},
            },
            "template": template,
        },
        "status": {"replicas": 0, "observedGeneration": 1},
    }
    store.put_internal(REPLICASETS, meta["namespace"], rs)
    return rs


def _set_replicas(store: KubeStore, rs: dict[str, Any], replicas: int) -> bool:
    if rs["spec"]["replicas"] == replicas:
        return False
    rs["spec"]["replicas"] = replicas
    rs["metadata"]["generation"] = int(rs["metadata"].get("generation", 1)) + 1
    rs["metadata"]["resourceVersion"] = store.fresh_version()
    return True


def replicasets(
    store: KubeStore, deployment: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The Deployment's ReplicaSet for its current template, and the others."""
    meta = deployment["metadata"]
    digest = template_hash(deployment["spec"]["template"])
    all_rs = owned(store, REPLICASETS, meta["namespace"], meta.get("uid", ""))
    new = next((r for r in all_rs if r["metadata"]["labels"].get(HASH) == digest), None)
    return new, [r for r in all_rs if r is not new]


def rs_pods(store: KubeStore, rs: dict[str, Any]) -> list[dict[str, Any]]:
    return owned(store, PODS, rs["metadata"]["namespace"], rs["metadata"]["uid"])


def _available(store: KubeStore, rs: dict[str, Any]) -> int:
    return sum(1 for p in rs_pods(store, rs) if _ready(p))


def reconcile(store: KubeStore, deployment: dict[str, Any]) -> None:
    """One pass of the Deployment controller, then of its ReplicaSets' controller."""
    meta, spec = deployment["metadata"], deployment["spec"]
    if meta.get("deletionTimestamp"):
        return
    state = store.workloads.setdefault((meta["namespace"], meta["name"]), {})
    state.setdefault("progress_at", time.time())
    replicas = int(spec.get("replicas", 1))
    _adopt(store, deployment)
    new, olds = replicasets(store, deployment)
    old_replicas = sum(r["spec"]["replicas"] for r in olds)
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    if new is None:
        revisions = [int(r["metadata"].get("annotations", {}).get(REVISION, 0)) for r in olds]
        start = replicas if not old_replicas else 0
        digest = template_hash(spec["template"])
        new = _new_replicaset(store, deployment, digest, max(revisions, default=0) + 1, start)
        state.update(progress_at=time.time(), failed="")
    moved = False
    if recreate:
        for old in olds:
            moved |= _set_replicas(store, old, 0)
        if not any(rs_pods(store, old) for old in olds):
            moved |= _set_replicas(store, new, replicas)
    elif not old_replicas:
        moved |= _set_replicas(store, new, replicas)
    else:
        moved |= _roll(store, deployment, new, olds, replicas)
    if moved:
        state["progress_at"] = time.time()
    for rs in [new, *olds]:
        _replicate(store, deployment, rs)


def _adopt(store: KubeStore, deployment: dict[str, Any]) -> None:
    """A ReplicaSet with no controller that the Deployment's selector matches becomes its
    own (an orphan left by `--cascade=orphan`: ControllerRefManager's adoption,
    https://kubernetes.io/docs/concepts/architecture/garbage-collection/#orphaned-dependents)."""
    meta = deployment["metadata"]
    wanted = (deployment["spec"].get("selector") or {}).get("matchLabels") or {}
    for rs in store.list(REPLICASETS, meta["namespace"]):
        refs = rs["metadata"].get("ownerReferences") or []
        labels = rs["metadata"].get("labels") or {}
        if any(r.get("controller") for r in refs) or rs["metadata"].get("deletionTimestamp"):
            continue
        if wanted and all(labels.get(k) == v for k, v in wanted.items()):
            rs["metadata"]["ownerReferences"] = [*refs, owner_ref(deployment)]
            rs["metadata"]["resourceVersion"] = store.fresh_version()


def _roll(
    store: KubeStore,
    deployment: dict[str, Any],
    new: dict[str, Any],
    olds: list[dict[str, Any]],
    replicas: int,
) -> bool:
    """reconcileNewReplicaSet and reconcileOldReplicaSets of a rolling update
    (kubernetes/pkg/controller/deployment/rolling.go)."""
    surge, unavailable = surge_and_unavailable(deployment)
    moved = False
    total = new["spec"]["replicas"] + sum(r["spec"]["replicas"] for r in olds)
    room = replicas + surge - total
    if new["spec"]["replicas"] > replicas:
        moved |= _set_replicas(store, new, replicas)
    elif room > 0:
        moved |= _set_replicas(store, new, min(replicas, new["spec"]["replicas"] + room))
    min_available = replicas - unavailable
    all_pods = new["spec"]["replicas"] + sum(r["spec"]["replicas"] for r in olds)
    new_unavailable = new["spec"]["replicas"] - _available(store, new)
    # First the old pods that are not available (removing them costs nothing)...
    budget = all_pods - min_available - new_unavailable
    for old in olds:
        if budget <= 0:
            break
        unhealthy = old["spec"]["replicas"] - _available(store, old)
        cut = min(unhealthy, budget)
        if cut > 0:
            moved |= _set_replicas(store, old, old["spec"]["replicas"] - cut)
            budget -= cut
    # ...then available ones, down to the minimum available.
    down = _available(store, new) + sum(_available(store, r) for r in olds) - min_available
    for old in sorted(olds, key=lambda r: r["metadata"].get("creationTimestamp", "")):
        if down <= 0:
            break
        cut = min(old["spec"]["replicas"], down)
        if cut > 0:
            moved |= _set_replicas(store, old, old["spec"]["replicas"] - cut)
            down -= cut
    return moved


def _replicate(store: KubeStore, deployment: dict[str, Any], rs: dict[str, Any]) -> None:
    """The ReplicaSet controller: as many pods as its replicas."""
    pods = rs_pods(store, rs)
    wanted = int(rs["spec"]["replicas"])
    if len(pods) > wanted:
        # controller.ActivePodsWithRanks: unscheduled, then not ready, then newest first.
        def rank(pod: dict[str, Any]) -> tuple[int, int, str]:
            placed = 1 if pod["spec"].get("nodeName") else 0
            return (placed, 1 if _ready(pod) else 0, _neg(pod))

        for pod in sorted(pods, key=rank)[: len(pods) - wanted]:
            store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], "Background")
    for _ in range(wanted - len(pods)):
        if not _create_pod(store, deployment, rs):
            break
    _rs_status(store, rs)


def _neg(pod: dict[str, Any]) -> str:
    # Newest first: invert the creation time's characters so a sort ascending puts it first.
    stamp = pod["metadata"].get("creationTimestamp", "")
    return "".join(chr(255 - ord(c)) for c in stamp)


def _rs_status(store: KubeStore, rs: dict[str, Any]) -> None:
    pods = rs_pods(store, rs)
    ready = sum(1 for p in pods if _ready(p))
    status = {
        "replicas": len(pods),
        "fullyLabeledReplicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    if not ready:
        del status["readyReplicas"], status["availableReplicas"]
    if rs.get("status") != status:
        rs["status"] = status
        rs["metadata"]["resourceVersion"] = store.fresh_version()


def _create_pod(store: KubeStore, deployment: dict[str, Any], rs: dict[str, Any]) -> bool:
    meta = rs["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    template = rs["spec"]["template"]
    pod_spec = template["spec"]
    ksa_name = pod_spec.get("serviceAccountName") or "default"
    ksa = store.find(BY_PLURAL[("", "v1", "serviceaccounts")], namespace, ksa_name)
    refusal = _quota_refusal(store, namespace, _gpus(pod_spec))
    if ksa is None:
        refusal = f'error looking up service account {namespace}/{ksa_name}: serviceaccount "{ksa_name}" not found'  # noqa: E501
    dep = deployment["metadata"]
    if refusal:
        message = f'Error creating: pods "{name}-" is forbidden: {refusal}'
        if _once(store, ("rs", meta["uid"]), message):
            event(
                store, rs, "FailedCreate", message, warning=True, component="replicaset-controller"
            )
        store.deployment_state(dep["namespace"], dep["name"], failed=f"FailedCreate: {refusal}")
        return False
    store.deployment_state(dep["namespace"], dep["name"], failed="")
    suffix = "".join(secrets.choice(ALPHANUMS) for _ in range(5))
    pod = store.new_pod(namespace, f"{name}-{suffix}", template, rs)
    event(
        store,
        rs,
        "SuccessfulCreate",
        f"Created pod: {pod['metadata']['name']}",
        component="replicaset-controller",
    )
    return True


# -- the scheduler ------------------------------------------------------------------------


def schedule(store: KubeStore) -> None:
    """Bind each Pending pod to a node with room, or say why it stays Pending."""
    nodes.refresh(store)
    pending = [
        p
        for p in store.list(PODS, None)
        if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")
    ]
    pending.sort(key=lambda p: int(p["metadata"].get("resourceVersion", 0)))
    for pod in pending:
        _schedule_one(store, pod)


def _pod_state(store: KubeStore, pod: dict[str, Any]) -> dict[str, Any]:
    return store.workloads.setdefault(("pod", pod["metadata"]["uid"]), {})


def _awaited(store: KubeStore) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in store.list(PODS, None):
        node = store.workloads.get(("pod", pod["metadata"].get("uid", "")), {}).get("awaiting")
        if node and not pod["spec"].get("nodeName") and nodes.booting(store, node) is not None:
            out[node] = out.get(node, 0) + max(1, _gpus(pod["spec"]))
    return out


def _schedule_one(store: KubeStore, pod: dict[str, Any]) -> None:
    node, why = nodes.fit(store, pod)
    if node is not None:
        _bind(store, pod, node)
        return
    state = _pod_state(store, pod)
    key = ("pod", pod["metadata"]["uid"])
    cluster = store.cluster_spec()
    autopilot = cluster is None or cluster.autopilot.enabled
    if autopilot:
        awaiting = state.get("awaiting")
        if awaiting and nodes.booting(store, awaiting) is not None:
            return  # its node is still booting
        coming = nodes.coming_node(store, pod["spec"], _awaited(store))
        if coming is not None:
            state["awaiting"] = coming
            return
        refusal = nodes.no_scale_up(store, pod["spec"])
        if refusal is None:
            made = nodes.provision(store, pod["spec"])
            state["awaiting"] = made
            pool = (nodes.booting(store, made) or {}).get(nodes.NODEPOOL, made)
            event(
                store,
                pod,
                "TriggeredScaleUp",
                f"pod triggered scale-up: [{{{pool} 0->1 (max: 1000)}}]",
                component="cluster-autoscaler",
            )
            return
        if _once(store, key, why):
            event(store, pod, "FailedScheduling", why, warning=True)
        # Autopilot's autoscaler says why it made no node (noScaleUp:
        # https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-autoscaler-visibility).
        said = f"pod didn't trigger scale-up{refusal}"
        if _once(store, key, said):
            event(store, pod, "NotTriggerScaleUp", said, component="cluster-autoscaler")
        return
    if state.get("growing"):
        return
    grown = nodes.grow_pool(store, pod)
    if grown is not None:
        pool = grown.split(" ", 1)[0]
        state["growing"] = pool
        event(
            store,
            pod,
            "TriggeredScaleUp",
            f"pod triggered scale-up: [{{{grown}}}]",
            component="cluster-autoscaler",
        )

        def added() -> None:
            nodes.pool_grown(store, pool)
            state.pop("growing", None)

        store.later(time.time() + float(store.state.config.operation_delay), added)
        return
    if _once(store, key, why):
        event(store, pod, "FailedScheduling", why, warning=True)
    if nodes.autoscaled(store):
        said = "pod didn't trigger scale-up: max node group size reached"
        if _once(store, key, said):
            event(store, pod, "NotTriggerScaleUp", said, component="cluster-autoscaler")


def _bind(store: KubeStore, pod: dict[str, Any], node: str) -> None:
    meta = pod["metadata"]
    namespace = meta["namespace"]
    now = time.time()
    store.pod_running(pod, node)
    event(store, pod, "Scheduled", f"Successfully assigned {namespace}/{meta['name']} to {node}")
    container = pod["spec"]["containers"][0]
    event(
        store,
        pod,
        "Pulled",
        f'Container image "{container["image"]}" already present on machine',
        component="kubelet",
    )
    event(store, pod, "Started", f"Started container {container['name']}", component="kubelet")
    # Workload Identity is checked when the container reads the bucket, as on GKE: a
    # binding granted while the pod waited for its node still counts.
    ksa_name = pod["spec"].get("serviceAccountName") or "default"
    load = _while_alive(store, pod, lambda: _load_weights(store, pod, ksa_name))
    store.later(now + float(store.state.config.model_load_delay), load)


def _while_alive(
    store: KubeStore, pod: dict[str, Any], effect: Callable[[], None]
) -> Callable[[], None]:
    """`effect`, unless the pod has been deleted (scaled down, rolled, collected) by then."""

    def run() -> None:
        meta = pod["metadata"]
        if store.find(PODS, meta["namespace"], meta["name"]) is pod:
            effect()

    return run


def _load_weights(store: KubeStore, pod: dict[str, Any], ksa_name: str) -> None:
    namespace = pod["metadata"]["namespace"]
    container = pod["spec"]["containers"][0]
    ksa = store.find(BY_PLURAL[("", "v1", "serviceaccounts")], namespace, ksa_name)
    bucket = _bucket(container)
    refusal = None
    if bucket and ksa is not None:
        refusal = storage_refusal(store, namespace, ksa, bucket) or weights_missing(
            store, container
        )
    if refusal is None:
        store.pod_ready(pod)
        return
    store.pod_crashing(pod, refusal)
    back_off = (
        f"Back-off restarting failed container {container['name']} in pod {pod['metadata']['name']}"
    )
    event(store, pod, "BackOff", back_off, warning=True, component="kubelet")
    # The kubelet restarts it with a doubling back-off (10 s, 20 s, ... 5 min on a real
    # node; here the model-load delay, doubling up to 8 times it); each start reads the
    # bucket again, so a binding granted or weights copied meanwhile let it come up.
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    delay = float(store.state.config.model_load_delay) * min(2 ** (restarts - 1), 8)
    retry = _while_alive(store, pod, lambda: _load_weights(store, pod, ksa_name))
    store.later(time.time() + delay, retry)


def roll(store: KubeStore, deployment: dict[str, Any]) -> None:
    """A Deployment was created or its spec changed: the controllers act at once."""
    reconcile(store, deployment)
    schedule(store)
