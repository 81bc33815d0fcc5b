"""Cloud Storage steps: the weights bucket, who may read it, and its removal."""

from gcp import storage
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.results import StepResult, Succeeded


def ensure_bucket(claim: StepClaim) -> StepResult:
    params = claim.step.params
    created = storage.ensure_bucket(project=params["project"], body=claim.step.request.body or {})
    bucket = params["bucket"]
    return Succeeded(
        f"Created gs://{bucket}." if created else f"gs://{bucket} already exists.",
        outputs={"weights_bucket": bucket},
    )


@waits_for_new_accounts
def grant_bucket_role(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = storage.grant_bucket_role(
        bucket=params["bucket"], member=params["member"], role=params["role"]
    )
    return Succeeded(f"{params['member']} may read the weights" + ("" if changed else " already"))


def delete_bucket(claim: StepClaim) -> StepResult:
    deleted = storage.delete_bucket(claim.step.params["bucket"])
    if deleted is None:
        return Succeeded("The bucket was already gone.")
    return Succeeded(f"Deleted {deleted} objects and the bucket.")
