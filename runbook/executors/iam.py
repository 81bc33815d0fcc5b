"""IAM steps: the deployment's own service account."""

from gcp import iam
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.results import StepResult, Succeeded


def ensure_service_account(claim: StepClaim) -> StepResult:
    params = claim.step.params
    email, created = iam.ensure_service_account(
        project=params["project"], body=claim.step.request.body or {}
    )
    message = f"Created {email}." if created else f"{email} already exists."
    return Succeeded(message, outputs={"service_account": email})


def delete_service_account(claim: StepClaim) -> StepResult:
    deleted = iam.delete_service_account(claim.step.params["name"])
    return Succeeded("Deleted." if deleted else "The service account was already gone.")


@waits_for_new_accounts
def grant_service_account_role(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = iam.grant_service_account_role(
        project=params["project"],
        email=params["email"],
        member=params["member"],
        role=params["role"],
    )
    return Succeeded(
        f"{params['member']} holds {params['role']}" + ("" if changed else " already") + "."
    )
