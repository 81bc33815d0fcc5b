"""Artifact Registry steps: the image repository and the image."""

from gcp import artifact_registry
from runbook.executors.operations import after_operation
from runbook.owners import StepClaim
from runbook.results import StepResult, Succeeded, Waiting


def ensure_repository(claim: StepClaim) -> StepResult:
    if claim.operation:
        return after_operation(claim, artifact_registry.get_operation(claim.operation))
    params = claim.step.params
    operation = artifact_registry.create_repository(
        parent=params["parent"],
        repository_id=params["repository_id"],
        body=claim.step.request.body or {},
    )
    if operation is None:
        return Succeeded("The repository already exists.")
    return Waiting(operation)


def delete_package(claim: StepClaim) -> StepResult:
    if claim.operation:
        return after_operation(claim, artifact_registry.get_operation(claim.operation))
    operation = artifact_registry.delete_package(claim.step.params["name"])
    return Succeeded("The image was already gone.") if operation is None else Waiting(operation)
