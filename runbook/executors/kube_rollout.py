"""Waiting for a model server's Deployment to become Available, saying meanwhile what
Kubernetes says (scale-ups, scheduling failures, GPU stockouts and quota, image pulls,
restarts), and failing fast with the reason on ProgressDeadlineExceeded or a crash loop.

Ready as the Deployment controller defines it: observedGeneration caught up, the
Available condition True, every replica updated and available
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#complete-deployment).
"""

from datetime import UTC, datetime
from typing import Any

from gcp import kube
from runbook.executors.kube import conn_for
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting

# The seed waits this long (kubectl wait --timeout=1800s): GPU nodes, image, weights.
AVAILABLE_TIMEOUT_SECONDS = 1800
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


def _latest_news(conn: kube.ClusterConn, namespace: str, names: list[str]) -> str:
    news: list[tuple[int, str]] = []
    for name in names:
        for event in kube.list_objects(
            conn, "v1", "Event", namespace, field_selector=f"involvedObject.name={name}"
        ):
            if event.get("reason") in TELLING_REASONS:
                version = int(
                    event["metadata"].get("resource_version")
                    or event["metadata"].get("resourceVersion")
                    or 0
                )
                news.append((version, f"{event['reason']}: {event.get('message', '')}"))
    return max(news)[1] if news else ""


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
    selector = ",".join(f"{k}={v}" for k, v in params["selector"].items())
    pods = kube.list_objects(conn, "v1", "Pod", namespace, label_selector=selector)
    crash = _crash_loop(pods)
    if crash:
        return Failed(f"The model server crash-loops: {crash}", _hint(params))
    elapsed = (datetime.now(UTC) - claim.started_at).total_seconds()
    if elapsed > AVAILABLE_TIMEOUT_SECONDS:
        return Failed(
            f"Deployment {name} was not Available after {AVAILABLE_TIMEOUT_SECONDS // 60} minutes.",
            _hint(params),
        )
    names = [name, *(p["metadata"]["name"] for p in pods)]
    news = failure.get("message") or _latest_news(conn, namespace, names)
    return Waiting(claim.operation or "available", news or "Waiting for the pod to start.")


def _hint(params: dict[str, Any]) -> str:
    return (
        f"kubectl -n {params['namespace']} describe deployment {params['name']}; "
        f"kubectl -n {params['namespace']} get events --sort-by=.lastTimestamp"
    )
