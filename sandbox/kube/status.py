"""Pods and the Deployment status the sandbox's API server reports (sandbox/kube/store.py).

The fields Hangar reads to know where a rollout stands, as the Deployment controller and
the kubelet fill them
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status,
https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states).
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.kube.resources import BY_PLURAL, Kind

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.store import Stored

PODS = BY_PLURAL[("", "v1", "pods")]
DEPLOYMENTS = BY_PLURAL[("apps", "v1", "deployments")]


def rfc3339(at: float) -> str:
    """A timestamp as the API server writes one (whole seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    """The ownerReference a controller puts on what it makes from `obj`."""
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    now = rfc3339(time.time())
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


class WorkloadsMixin:
    state: State
    cluster: str
    cluster_spec: Callable[[], Any]
    objects: dict[tuple[str, str, str, str], Stored]
    workloads: dict[tuple[str, str], dict[str, Any]]
    unneeded_since: dict[str, float]

    def _next_version(self) -> str:  # pragma: no cover - KubeStore's
        raise NotImplementedError

    def list(self, kind: Kind, namespace: str | None) -> list[dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    # -- lookups ---------------------------------------------------------------------

    def find(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        stored = self.objects.get((kind.group, kind.plural, namespace or "", name))
        return stored.obj if stored is not None else None

    def workload_pool(self) -> str:
        cluster = self.cluster_spec()
        pool = cluster.workload_identity_config.workload_pool if cluster is not None else ""
        return pool or f"{self.state.config.project}.svc.id.goog"

    def gpus_requested(self, namespace: str) -> int:
        from sandbox.kube.workloads import _gpus

        return sum(_gpus(pod["spec"]) for pod in self.list(PODS, namespace))

    # -- pods ------------------------------------------------------------------------

    def put_internal(self, kind: Kind, namespace: str | None, obj: dict[str, Any]) -> None:
        """Store an object the cluster makes itself (pods, events)."""
        from sandbox.kube.store import Stored

        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", rfc3339(time.time()))
        meta["resourceVersion"] = self._next_version()
        key = (kind.group, kind.plural, namespace or "", meta["name"])
        if namespace is None or ("", "namespaces", "", namespace) in self.objects:
            self.objects[key] = Stored(obj, "kube-controller-manager")

    def new_pod(
        self, namespace: str, name: str, template: dict[str, Any], owner: dict[str, Any]
    ) -> dict[str, Any]:
        """A pod of `owner` (its ReplicaSet), Pending until the scheduler binds it."""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "generateName": f"{owner['metadata']['name']}-",
                "namespace": namespace,
                "labels": dict(template["metadata"].get("labels") or {}),
                "ownerReferences": [owner_ref(owner)],
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
                ],
            },
        }
        pod["spec"].setdefault("serviceAccountName", "default")
        self.put_internal(PODS, namespace, pod)
        return pod

    def drop_pods(self, namespace: str, deployment: str) -> None:
        """A deleted Deployment's ReplicaSets and pods (what the collector would take)."""
        for key, stored in list(self.objects.items()):
            owners = stored.obj["metadata"].get("ownerReferences") or []
            if (
                key[1] in ("pods", "replicasets")
                and key[2] == namespace
                and any(o["name"].startswith(f"{deployment}-") for o in owners)
            ) or (
                key[1] == "replicasets"
                and key[2] == namespace
                and any(o["name"] == deployment and o["kind"] == "Deployment" for o in owners)
            ):
                del self.objects[key]

    def _container_status(self, pod: dict[str, Any], **fields: Any) -> None:
        container = pod["spec"]["containers"][0]
        status = {
            "name": container["name"],
            "image": container["image"],
            "restartCount": 0,
            "ready": False,
            "started": False,
            **fields,
        }
        pod["status"]["containerStatuses"] = [status]
        pod["metadata"]["resourceVersion"] = self._next_version()

    def pod_running(self, pod: dict[str, Any], node: str) -> None:
        pod["status"]["phase"] = "Running"
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
        pod["spec"]["nodeName"] = node
        pod["status"]["startTime"] = rfc3339(time.time())
        self._container_status(
            pod, started=True, state={"running": {"startedAt": rfc3339(time.time())}}
        )

    def pod_ready(self, pod: dict[str, Any]) -> None:
        previous = (pod["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0)
        self._container_status(
            pod,
            started=True,
            ready=True,
            restartCount=previous,
            state={"running": {"startedAt": rfc3339(time.time())}},
        )
        pod["status"]["conditions"].append({"type": "Ready", "status": "True"})

    def pod_crashing(self, pod: dict[str, Any], message: str) -> None:
        previous = (pod["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0)
        self._container_status(
            pod,
            restartCount=previous + 1,
            state={
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off restarting failed container",
                }
            },
            lastState={"terminated": {"exitCode": 1, "reason": "Error", "message": message}},
        )

    # -- deployments -----------------------------------------------------------------

    def deployment_state(self, namespace: str, name: str, **fields: Any) -> None:
        self.workloads.setdefault((namespace, name), {}).update(fields)

    def _refresh_deployments(self, now: float) -> None:
        """The controllers' pass: each Deployment's ReplicaSets and pods, the scheduler,
        then each Deployment's status."""
        from sandbox.kube import workloads

        deployments = [s.obj for k, s in self.objects.items() if k[1] == "deployments"]
        for deployment in deployments:
            workloads.reconcile(self, deployment)  # type: ignore[arg-type]
        workloads.schedule(self)  # type: ignore[arg-type]
        for deployment in deployments:
            self._deployment_status(deployment, now)

    def _deployment_status(self, deployment: dict[str, Any], now: float) -> None:
        """calculateStatus and the conditions of the Deployment controller
        (kubernetes/pkg/controller/deployment/sync.go, progress.go): Available when
        availableReplicas >= replicas - maxUnavailable; Progressing False with
        ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds
        (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment)."""
        from sandbox.kube import workloads

        meta, spec = deployment["metadata"], deployment["spec"]
        if meta.get("deletionTimestamp"):
            return
        state = self.workloads.setdefault((meta["namespace"], meta["name"]), {})
        replicas = int(spec.get("replicas", 1))
        new, olds = workloads.replicasets(self, deployment)  # type: ignore[arg-type]
        all_rs = [r for r in [new, *olds] if r is not None]
        pods = {r["metadata"]["uid"]: workloads.rs_pods(self, r) for r in all_rs}  # type: ignore[arg-type]
        actual = sum(len(p) for p in pods.values())
        updated = len(pods[new["metadata"]["uid"]]) if new is not None else 0
        ready = sum(1 for p in pods.values() for pod in p if workloads._ready(pod))
        if ready > int(state.get("available", 0)):
            state["progress_at"] = now  # new pods available: progress
        state["available"] = ready
        wanted = sum(int(r["spec"]["replicas"]) for r in all_rs)
        _, unavailable = workloads.surge_and_unavailable(deployment)
        minimum = ready >= replicas - unavailable
        old_pods = actual - updated
        complete = updated == replicas and actual == replicas and ready == replicas
        complete = complete and not old_pods
        deadline = float(state.get("progress_at", now)) + float(
            spec.get("progressDeadlineSeconds", 600)
        )
        rs = f'ReplicaSet "{new["metadata"]["name"] if new else meta["name"]}"'
        if complete:
            progressing = _condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f"{rs} has successfully progressed.",
            )
        elif now > deadline:
            progressing = _condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f"{rs} has timed out progressing.",
            )
        else:
            progressing = _condition(
                "Progressing", "True", "ReplicaSetUpdated", f"{rs} is progressing."
            )
        available = _condition(
            "Available",
            "True" if minimum else "False",
            "MinimumReplicasAvailable" if minimum else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if minimum
            else "Deployment does not have minimum availability.",
        )
        conditions = [available, progressing]
        if state.get("failed"):
            conditions.append(_condition("ReplicaFailure", "True", "FailedCreate", state["failed"]))
        status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": actual,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(0, wanted - ready),
            "conditions": conditions,
        }
        # The API server omits zero counts (omitempty).
        for field in (
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ):
            if not status[field]:
                del status[field]
        old = deployment.get("status") or {}
        kept = {c["type"]: c for c in old.get("conditions", [])}
        merged = []
        for c in conditions:
            before = kept.get(c["type"])
            if before and (before["status"], before["reason"]) == (c["status"], c["reason"]):
                merged.append(before)
            else:
                merged.append(c)
        status["conditions"] = merged
        if status != old:
            deployment["status"] = status
            meta["resourceVersion"] = self._next_version()
