"""Secret Manager steps: who may read the team's Hugging Face token."""

from google.api_core import exceptions as gexc

from gcp import secret_manager
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded


@waits_for_new_accounts
def grant_accessor(claim: StepClaim) -> StepResult:
    params = claim.step.params
    try:
        changed = secret_manager.grant(
            name=params["name"], member=params["member"], role=params["role"]
        )
    except gexc.NotFound:
        return Failed(
            f"The team's Hugging Face secret {params['name']} does not exist.",
            "A team admin saves the team's Hugging Face token on the team's Hugging Face page; "
            "then retry.",
        )
    return Succeeded(f"{params['member']} may read the token" + ("" if changed else " already"))


def revoke_accessor(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = secret_manager.revoke(
        name=params["name"], member=params["member"], role=params["role"]
    )
    return Succeeded("Access revoked." if changed else "It had no access.")
