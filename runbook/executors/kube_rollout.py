"""Waiting for a model server's Deployment to become Available, saying meanwhile what
Kubernetes says (scale-ups, scheduling failures, GPU stockouts and quota, image pulls,
restarts), and failing as soon as Kubernetes reports a state that will not change by
waiting, naming its cause:
- ProgressDeadlineExceeded (the Deployment's progressDeadlineSeconds, 600 s by default:
  https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment);
- a pod the namespace's ResourceQuota refuses: the ReplicaSet's FailedCreate, which the
  Deployment reports as its ReplicaFailure condition, "exceeded quota: NAME, requested:
  ..., used: ..., limited: ..." (https://kubernetes.io/docs/concepts/policy/resource-quotas/);
- an image the kubelet cannot pull, ErrImagePull then ImagePullBackOff
  (https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff);
- a pod no node pool can grow to fit: the cluster autoscaler's NotTriggerScaleUp
  (https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-autoscaler-visibility);
- a crash loop.
The wait itself is bounded by the deadline its plan declares (kube_steps.py).

Ready as the Deployment controller defines it: observedGeneration caught up, the
Available condition True, every replica updated and available
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#complete-deployment).
"""

import re
from datetime import datetime
from typing import Any

from gcp import kube
from runbook.executors.kube import conn_for
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting

# The kubelet's reasons for a container it cannot pull the image of.
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName"})
_QUOTA_NAME = re.compile(r"exceeded quota: ([\w.-]+)")
# Restarts after which a container in CrashLoopBackOff is taken as broken, not slow.
CRASH_LOOP_RESTARTS = 3
# What a person wants to see on the timeline while it waits; the newest of these wins.
TELLING_REASONS = frozenset(
    {
        "FailedScheduling",
        "TriggeredScaleUp",
        "NotTriggerScaleUp",
        "FailedScaleUp",
        "FailedCreate",
        "Pulling",
        "Pulled",
        "Failed",
        "BackOff",
        "Scheduled",
        "Started",
    }
)


def _condition(deployment: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def is_available(deployment: dict[str, Any]) -> bool:
    status = deployment.get("status") or {}
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    return (
        int(status.get("observedGeneration", 0)) >= int(deployment["metadata"].get("generation", 1))
        and _condition(deployment, "Available").get("status") == "True"
        and int(status.get("updatedReplicas", 0)) >= replicas
        and int(status.get("availableReplicas", 0)) >= replicas
        # No old ReplicaSet's pods left, as `kubectl rollout status` waits for ("old
        # replicas are pending termination"): until then an old pod may be the one available.
        and int(status.get("replicas", 0)) <= int(status.get("updatedReplicas", 0))
    )


def _crash_loop(pods: list[dict[str, Any]]) -> str:
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if (
                waiting.get("reason") == "CrashLoopBackOff"
                and int(status.get("restartCount", 0)) >= CRASH_LOOP_RESTARTS
            ):
                last = ((status.get("lastState") or {}).get("terminated") or {}).get("message")
                return last or waiting.get("message") or "the container keeps exiting"
    return ""


def _quota_refusal(failure: dict[str, Any]) -> str:
    """The ResourceQuota refusal the Deployment reports (ReplicaFailure), if any."""
    message = str(failure.get("message") or "")
    if failure.get("status") == "True" and "exceeded quota" in message:
        return message
    return ""


def _image_pull_error(pods: list[dict[str, Any]]) -> str:
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in IMAGE_PULL_REASONS:
                image = status.get("image") or "its image"
                said = waiting.get("message") or waiting["reason"]
                return f"{image} ({waiting['reason']}: {said})"
    return ""


def _events(conn: kube.ClusterConn, namespace: str, names: list[str]) -> list[dict[str, Any]]:
    found = []
    for name in names:
        found.extend(
            kube.list_objects(
                conn, "v1", "Event", namespace, field_selector=f"involvedObject.name={name}"
            )
        )
    return found


def _version(event: dict[str, Any]) -> int:
    meta = event["metadata"]
    return int(meta.get("resource_version") or meta.get("resourceVersion") or 0)


def _since(event: dict[str, Any], started: datetime) -> bool:
    """Whether the event happened during this wait (an older rollout's says nothing now)."""
    stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return True
    # Events carry whole seconds.
    return when.timestamp() >= int(started.timestamp())


def _latest_news(events: list[dict[str, Any]]) -> str:
    news = [
        (_version(e), f"{e['reason']}: {e.get('message', '')}")
        for e in events
        if e.get("reason") in TELLING_REASONS
    ]
    return max(news)[1] if news else ""


def _final(events: list[dict[str, Any]], started: datetime, reason: str, text: str) -> str:
    """The newest event of this wait with `reason` whose message says `text`."""
    found = [
        e
        for e in events
        if e.get("reason") == reason and text in str(e.get("message", "")) and _since(e, started)
    ]
    return str(max(found, key=_version).get("message", "")) if found else ""


def wait_available(claim: StepClaim) -> StepResult:
    params = claim.step.params
    conn = conn_for(claim)
    namespace, name = params["namespace"], params["name"]
    deployment = kube.read(conn, "apps/v1", "Deployment", name, namespace)
    if deployment is None:
        return Failed(f"Deployment {namespace}/{name} is not there.", "Retry the deployment.")
    if is_available(deployment):
        return Succeeded(f"Deployment {name} is Available.")
    progressing = _condition(deployment, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Failed(f"Kubernetes gave up: {progressing.get('message', '')}", _hint(params))
    failure = _condition(deployment, "ReplicaFailure")
    refused = _quota_refusal(failure)
    selector = ",".join(f"{k}={v}" for k, v in params["selector"].items())
    pods = kube.list_objects(conn, "v1", "Pod", namespace, label_selector=selector)
    events = _events(conn, namespace, [name, *(p["metadata"]["name"] for p in pods)])
    refused = refused or _final(events, claim.started_at, "FailedCreate", "exceeded quota")
    if refused:
        return Failed(f"Kubernetes refused the pod: {refused}", _quota_hint(namespace, refused))
    image = _image_pull_error(pods)
    if image:
        return Failed(
            f"Kubernetes cannot pull the image {image}.",
            "Check the image name and tag, and that the cluster's nodes may read its "
            f"registry; {_hint(params)}",
        )
    stuck = _final(events, claim.started_at, "NotTriggerScaleUp", "")
    if stuck:
        return Failed(
            f"No node pool can grow to fit the pod: {stuck}",
            "The cluster autoscaler found no node pool (or ComputeClass) with the machine "
            "and GPUs the pod asks for, or every one is at its maximum size: add or resize "
            f"one, or ask for fewer GPUs; {_hint(params)}",
        )
    crash = _crash_loop(pods)
    if crash:
        return Failed(f"The model server crash-loops: {crash}", _hint(params))
    news = failure.get("message") or _latest_news(events)
    return Waiting(claim.operation or "available", news or "Waiting for the pod to start.")


def _quota_hint(namespace: str, refusal: str) -> str:
    found = _QUOTA_NAME.search(refusal)
    quota = found.group(1) if found else "the namespace's ResourceQuota"
    return (
        f"The ResourceQuota {quota} in {namespace} holds what the team may run at once: "
        "tear down another of the team's GKE deployments, or have a platform admin raise "
        f"the team's GPU quota; kubectl -n {namespace} describe resourcequota {quota}"
    )


def _hint(params: dict[str, Any]) -> str:
    return (
        f"kubectl -n {params['namespace']} describe deployment {params['name']}; "
        f"kubectl -n {params['namespace']} get events --sort-by=.lastTimestamp"
    )
