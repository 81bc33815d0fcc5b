"""Cluster steps (clusters/plans.py): remove a failed create's ERROR cluster, create a
cluster, read it, delete it.

They run for the cluster owner (clusters/rollout.py) and return the same results as every
executor. Each is idempotent: a create that finds its own cluster (the `managed-by:
hangar` label) carries on, a delete that finds nothing is done, and none of them sleeps.
Only a cluster carrying Hangar's label is ever deleted.
"""

from google.api_core import exceptions as gexc

from gcp import container
from runbook.executors.operations import operation_hint
from runbook.owners import StepClaim
from runbook.plan import MANAGED_BY_LABEL
from runbook.results import Failed, StepResult, Succeeded, Waiting

# A cluster in these states answers on its endpoint (RECONCILING: an upgrade in progress).
_USABLE = frozenset({"RUNNING", "RECONCILING", "DEGRADED"})


def _after(claim: StepClaim, done_message: str) -> StepResult:
    state = container.operation_state(claim.operation)
    if not state.done:
        return Waiting(claim.operation, f"GKE reports the operation {state.status}.")
    if state.error:
        return Failed(f"GKE reported: {state.error}", operation_hint(claim, state))
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
        found = container.get_cluster(params["name"])
        if _ours(found.labels) and found.status == "ERROR":
            return Failed(
                f"The cluster {_short(params['name'])} Hangar made is in ERROR"
                f"{f': {found.status_message}' if found.status_message else ''}.",
                "Retry: the retry removes it (on the record) and creates it again.",
            )
        if _ours(found.labels):
            return Succeeded("The cluster already exists (Hangar created it).")
        return Failed(
            f"A cluster named {params['name']} exists and Hangar did not create it.",
            "Register it instead, or choose another name.",
        )
    return Waiting(operation, "GKE is creating the cluster (about 10 minutes).")


def remove_failed_cluster(claim: StepClaim) -> StepResult:
    """Before a create: a cluster Hangar made that GKE left in ERROR (a create that failed,
    on quota say) is deleted, so the create can make it again; GKE keeps a failed cluster
    until it is deleted (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/clusters).
    A cluster in any other state, or one Hangar did not make, is left as it is: the create
    then carries on with it or names it."""
    name = claim.step.params["name"]
    if claim.operation:
        return _after(claim, f"Removed the cluster {_short(name)} GKE had left in ERROR.")
    try:
        info = container.get_cluster(name)
    except gexc.NotFound:
        return Succeeded(f"No cluster {_short(name)}: nothing to remove.")
    if info.status == "STOPPING" and _ours(info.labels):
        # Its removal was asked for before a worker was lost: wait until it is gone, or
        # the create would meet it still there.
        return Waiting("", f"GKE is deleting the cluster {_short(name)} Hangar made.")
    if info.status != "ERROR":
        return Succeeded(f"The cluster {_short(name)} is {info.status}: nothing to remove.")
    if not _ours(info.labels):
        return Succeeded(
            f"The cluster {_short(name)} is in ERROR but Hangar did not make it: left alone."
        )
    try:
        operation = container.delete_cluster(name)
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        return Waiting("", f"GKE is busy with another operation: {exc.message}")
    if operation is None:
        return Succeeded(f"The cluster {_short(name)} was already gone.")
    said = f" ({info.status_message})" if info.status_message else ""
    return Waiting(
        operation,
        f"Deleting the cluster {_short(name)} Hangar made, which GKE left in ERROR{said}; "
        "it is created again next.",
    )


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


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
    """Read first: only a cluster carrying Hangar's label is deleted. One under that name
    someone else made (after Hangar's was deleted outside it: a lost cluster removed) is
    left in place."""
    name = claim.step.params["name"]
    if claim.operation:
        return _after(claim, "GKE deleted the cluster.")
    try:
        info = container.get_cluster(name)
    except gexc.NotFound:
        return Succeeded("The cluster was already gone.")
    if not _ours(info.labels):
        return Succeeded(
            f"The cluster {_short(name)} GKE has is not one Hangar made (no managed-by: "
            "hangar label): left in place."
        )
    try:
        operation = container.delete_cluster(name)
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        # GKE runs one operation per cluster at a time (an upgrade, say): try again later.
        return Waiting("", f"GKE is busy with another operation: {exc.message}")
    if operation is None:
        return Succeeded("The cluster was already gone.")
    return Waiting(operation, "GKE is deleting the cluster.")
