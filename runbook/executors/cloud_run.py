"""Cloud Run steps: the service, its invoker, readiness and removal."""

from gcp import cloud_run
from runbook.executors.operations import after_operation
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting


@waits_for_new_accounts
def apply_service(claim: StepClaim) -> StepResult:
    if claim.operation:
        return after_operation(claim, cloud_run.get_operation(claim.operation))
    body = claim.step.request.body or {}
    return Waiting(cloud_run.apply_service(name=claim.step.params["name"], body=body))


def grant_invoker(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = cloud_run.grant_invoker(
        name=params["name"], member=params["member"], role=params["role"]
    )
    return Succeeded(f"{params['member']} is the invoker" + ("" if changed else " already"))


def wait_ready(claim: StepClaim) -> StepResult:
    name = claim.step.params["name"]
    service = cloud_run.get_service(name)
    if service.ready:
        return Succeeded(outputs={"service_uri": service.uri})
    if service.failed:
        return Failed(
            f"The service did not become ready: {service.message}",
            "Check the revision's logs in Cloud Run; a container that does not listen on "
            "port 8080 or runs out of memory while loading the model is the usual cause.",
        )
    return Waiting(name, message="Service reconciling")


def delete_service(claim: StepClaim) -> StepResult:
    if claim.operation:
        return after_operation(claim, cloud_run.get_operation(claim.operation))
    operation = cloud_run.delete_service(claim.step.params["name"])
    return Succeeded("The service was already gone.") if operation is None else Waiting(operation)
