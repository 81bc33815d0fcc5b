"""Node pool steps (clusters/node_pools.py): create a deployment's GPU node pool once the
cluster is idle, delete it. Idempotent: a create that finds its pool carries on, a
delete that finds none is done; a cluster busy with another operation (GKE runs one at a
time) is waited for, never slept on."""

from google.api_core import exceptions as gexc

from gcp import container
from runbook.executors.operations import after_operation
from runbook.owners import StepClaim
from runbook.results import StepResult, Succeeded, Waiting


def _busy(exc: gexc.GoogleAPICallError) -> StepResult:
    return Waiting("", f"GKE is busy with another operation on the cluster: {exc.message}")


def create_node_pool(claim: StepClaim) -> StepResult:
    params = claim.step.params
    if claim.operation:
        return after_operation(claim, container.operation_state(claim.operation))
    try:
        operation = container.create_node_pool(
            parent=params["parent"], body=claim.step.request.body or {}
        )
    except gexc.Conflict:
        # Created before a crash: GKE names pools, so the name is this deployment's.
        status = container.node_pool_status(params["name"])
        if status in ("RUNNING", "RUNNING_WITH_ERROR"):
            return Succeeded("The node pool already exists.")
        return Waiting("", f"The node pool is {status}.")
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        return _busy(exc)
    return Waiting(operation, "GKE is creating the node pool (GPU nodes take minutes).")


def delete_node_pool(claim: StepClaim) -> StepResult:
    if claim.operation:
        return after_operation(claim, container.operation_state(claim.operation))
    try:
        operation = container.delete_node_pool(claim.step.params["name"])
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        return _busy(exc)
    if operation is None:
        return Succeeded("The node pool was already gone.")
    return Waiting(operation, "GKE is deleting the node pool.")
