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

from sandbox.kube import nodes
from sandbox.kube.resources import BY_PLURAL, Kind

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.store import Stored

PODS = BY_PLURAL[("", "v1", "pods")]
DEPLOYMENTS = BY_PLURAL[("apps", "v1", "deployments")]


def _rfc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    now = _rfc(time.time())
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
        meta.setdefault("creationTimestamp", _rfc(time.time()))
        meta["resourceVersion"] = self._next_version()
        key = (kind.group, kind.plural, namespace or "", meta["name"])
        if namespace is None or ("", "namespaces", "", namespace) in self.objects:
            self.objects[key] = Stored(obj, "kube-controller-manager")

    def new_pod(
        self, namespace: str, name: str, template: dict[str, Any], owner: dict[str, Any]
    ) -> dict[str, Any]:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": dict(template["metadata"].get("labels") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": name.rsplit("-", 1)[0],
                        "controller": True,
                        "uid": owner["metadata"]["uid"],
                    }
                ],
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
        for key, stored in list(self.objects.items()):
            owners = stored.obj["metadata"].get("ownerReferences") or []
            if (
                key[1] == "pods"
                and key[2] == namespace
                and any(o["name"].startswith(f"{deployment}-") for o in owners)
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

    def pod_running(self, pod: dict[str, Any]) -> None:
        pod["status"]["phase"] = "Running"
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
        pod["spec"]["nodeName"] = nodes.bind(self, pod)  # type: ignore[arg-type]
        self._container_status(
            pod, started=True, state={"running": {"startedAt": _rfc(time.time())}}
        )

    def pod_ready(self, pod: dict[str, Any], deployment: dict[str, Any]) -> None:
        self._container_status(
            pod, started=True, ready=True, state={"running": {"startedAt": _rfc(time.time())}}
        )
        pod["status"]["conditions"].append({"type": "Ready", "status": "True"})
        meta = deployment["metadata"]
        self.workloads.setdefault((meta["namespace"], meta["name"]), {})["ready_at"] = time.time()

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
        for key, stored in self.objects.items():
            if key[1] == "deployments":
                self._deployment_status(stored.obj, now)

    def _deployment_status(self, deployment: dict[str, Any], now: float) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        state = self.workloads.get((meta["namespace"], meta["name"]), {})
        replicas = int(spec.get("replicas", 1))
        ready = bool(state.get("ready_at"))
        started = state.get("started", now)
        deadline = started + float(spec.get("progressDeadlineSeconds", 600))
        rs = f'ReplicaSet "{meta["name"]}"'
        if ready:
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
            "True" if ready else "False",
            "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if ready
            else "Deployment does not have minimum availability.",
        )
        conditions = [available, progressing]
        if state.get("failed"):
            conditions.append(_condition("ReplicaFailure", "True", "FailedCreate", state["failed"]))
        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": 0 if state.get("failed") else replicas,
            "updatedReplicas": 0 if state.get("failed") else replicas,
            "readyReplicas": replicas if ready else 0,
            "availableReplicas": replicas if ready else 0,
            "unavailableReplicas": 0 if ready else replicas,
            "conditions": conditions,
        }
        old = deployment.get("status") or {}
        if [c["reason"] for c in old.get("conditions", [])] != [c["reason"] for c in conditions]:
            deployment["status"] = status
        else:
            deployment["status"] = {**status, "conditions": old["conditions"]}
