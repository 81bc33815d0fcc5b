"""Cloud Storage steps: the weights bucket, who may read it, and its removal.

Bucket names are global across Google Cloud: a bucket met under its name is adopted, and
one is deleted, only when its labels name the step's owner (runbook/ownership.py)."""

from gcp import storage
from runbook.executors.kube import NOT_OURS_HINT
from runbook.executors.propagation import waits_for_new_accounts
from runbook.owners import StepClaim
from runbook.ownership import owned_by, owner_of
from runbook.results import Failed, StepResult, Succeeded


def ensure_bucket(claim: StepClaim) -> StepResult:
    params = claim.step.params
    created = storage.ensure_bucket(project=params["project"], body=claim.step.request.body or {})
    bucket = params["bucket"]
    if not created:
        labels = storage.bucket_labels(bucket) or {}
        # A bucket a step names no owner for (made before owners were checked) is still
        # only Hangar's when it says so.
        owner = params.get("owner") or {"managed-by": "hangar"}
        if not owned_by(labels, owner):
            return Failed(
                f"The bucket gs://{bucket} already exists and belongs to {owner_of(labels)}, "
                f"not to {owner_of(owner) if params.get('owner') else 'Hangar'}.",
                NOT_OURS_HINT,
            )
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
    params = claim.step.params
    if params.get("owner"):
        labels = storage.bucket_labels(params["bucket"])
        if labels is None:
            return Succeeded("The bucket was already gone.")
        if not owned_by(labels, params["owner"]):
            return Succeeded(
                f"The bucket gs://{params['bucket']} belongs to {owner_of(labels)}: left in place."
            )
    deleted = storage.delete_bucket(params["bucket"])
    if deleted is None:
        return Succeeded("The bucket was already gone.")
    return Succeeded(f"Deleted {deleted} objects and the bucket.")
