"""IAM steps: the deployment's own service account.

A service account has no labels: Hangar notes its owner in the account's description
(runbook/ownership.py owner_note), which IAM keeps and returns as given
(https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts: `description`,
up to 256 characters). An account met under its name is adopted, and one is deleted, only
when that note names the step's owner."""

from gcp import iam
from runbook.executors.kube import NOT_OURS_HINT
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.ownership import owned_by, owner_in_note, owner_of
from runbook.results import Failed, StepResult, Succeeded


def _name(params: dict[str, str], email: str) -> str:
    return params.get("name") or f"projects/{params['project']}/serviceAccounts/{email}"


def ensure_service_account(claim: StepClaim) -> StepResult:
    params = claim.step.params
    email, created = iam.ensure_service_account(
        project=params["project"], body=claim.step.request.body or {}
    )
    if not created and params.get("owner"):
        found = owner_in_note(iam.service_account_description(_name(params, email)))
        if not owned_by(found, params["owner"]):
            return Failed(
                f"The service account {email} already exists and belongs to "
                f"{owner_of(found)}, not to {owner_of(params['owner'])}.",
                NOT_OURS_HINT,
            )
    message = f"Created {email}." if created else f"{email} already exists."
    return Succeeded(message, outputs={"service_account": email})


def delete_service_account(claim: StepClaim) -> StepResult:
    params = claim.step.params
    if params.get("owner"):
        description = iam.service_account_description(params["name"])
        if description is None:
            return Succeeded("The service account was already gone.")
        found = owner_in_note(description)
        if not owned_by(found, params["owner"]):
            return Succeeded(f"The service account belongs to {owner_of(found)}: left in place.")
    deleted = iam.delete_service_account(params["name"])
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
