"""Cluster steps (clusters/plans.py): create an Autopilot cluster, read it, delete it.

They run for the cluster owner (clusters/rollout.py) and return the same results as every
executor. Each is idempotent: a create that finds its own cluster (the `managed-by:
hangar` label) carries on, a delete that finds nothing is done, and none of them sleeps.
"""

from google.api_core import exceptions as gexc

from gcp import container
from runbook.owners import StepClaim
from runbook.plan import MANAGED_BY_LABEL
from runbook.results import Failed, StepResult, Succeeded, Waiting

# A cluster in these states answers on its endpoint (RECONCILING: an upgrade in progress).
_USABLE = frozenset({"RUNNING", "RECONCILING", "DEGRADED"})


def _after(claim: StepClaim, done_message: str) -> StepResult:
    state = container.operation_state(claim.operation)
    if not state.done:
        return Waiting(claim.operation)
    if state.error:
        return Failed(
            f"GKE reported: {state.error}",
            f"Compare the step's request with GKE's message ({claim.step.cli}).",
        )
    return Succeeded(done_message)


def _ours(labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in MANAGED_BY_LABEL.items())


def create_cluster(claim: StepClaim) -> StepResult:
    params = claim.step.params
    if claim.operation:
        return _after(claim, "GKE created the cluster.")
    try:
        operation = container.create_cluster(
            parent=params["parent"], body=claim.step.request.body or {}
        )
    except gexc.Conflict:
        # A create that ran before a crash, or someone else's cluster under that name.
        if _ours(container.get_cluster(params["name"]).labels):
            return Succeeded("The cluster already exists (Hangar created it).")
        return Failed(
            f"A cluster named {params['name']} exists and Hangar did not create it.",
            "Register it instead, or choose another name.",
        )
    return Waiting(operation, "GKE is creating the cluster (about 10 minutes).")


def read_cluster(claim: StepClaim) -> StepResult:
    name = claim.step.params["name"]
    try:
        info = container.get_cluster(name)
    except gexc.NotFound:
        return Failed(
            f"GKE has no cluster {name}.",
            "Check the project, location and name (gcloud container clusters list).",
        )
    if info.status == "PROVISIONING":
        return Waiting("", "GKE is still provisioning the cluster.")
    if info.status not in _USABLE or not info.endpoint or not info.ca_certificate:
        said = f": {info.status_message}" if info.status_message else ""
        return Failed(
            f"The cluster is {info.status}{said}.",
            "Look at the cluster in the Google Cloud console; Hangar needs it RUNNING.",
        )
    return Succeeded(
        f"Endpoint {info.endpoint}, GKE {info.current_version or 'version unknown'}.",
        outputs={
            "endpoint": info.endpoint,
            "ca_certificate": info.ca_certificate,
            "current_version": info.current_version,
            "workload_pool": info.workload_pool,
            "autopilot": info.autopilot,
            "release_channel": info.release_channel,
        },
    )


def delete_cluster(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after(claim, "GKE deleted the cluster.")
    try:
        operation = container.delete_cluster(claim.step.params["name"])
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        # GKE runs one operation per cluster at a time (an upgrade, say): try again later.
        return Waiting("", f"GKE is busy with another operation: {exc.message}")
    if operation is None:
        return Succeeded("The cluster was already gone.")
    return Waiting(operation, "GKE is deleting the cluster.")
