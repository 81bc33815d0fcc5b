"""Artifact Registry steps: the image repository and the image."""

from deployments.services.rollout import StepClaim, StepResult, Succeeded, Waiting
from gcp import artifact_registry
from workers.rollout.executors.operations import after_operation


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
