"""Cloud Storage steps any target that keeps weights in a bucket uses: the bucket beside
where the model runs, and its removal with everything in it."""

from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.plan import ApiRequest, Step


def bucket_body(ref: DeploymentRef, bucket: str, location: str) -> dict[str, object]:
    return {
        "name": bucket,
        # Beside the service or cluster: the weights are read without crossing regions.
        "location": location.upper(),
        "labels": ref.labels,
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
    }


def ensure_bucket(ref: DeploymentRef, ctx: PlanContext, *, bucket: str, location: str) -> Step:
    labels = ",".join(f"{k}={v}" for k, v in ref.labels.items())
    return Step(
        key="ensure_bucket",
        title="Create the bucket that holds the weights",
        action="storage.ensure_bucket",
        request=ApiRequest(
            "storage",
            "POST",
            f"/storage/v1/b?project={ctx.project}",
            bucket_body(ref, bucket, location),
        ),
        cli=(
            f"gcloud storage buckets create gs://{bucket} --location={location} "
            f"--uniform-bucket-level-access --update-labels={labels}"
        ),
        required_role="roles/storage.admin",
        params={"project": ctx.project, "bucket": bucket},
    )


def delete_bucket(bucket: str) -> Step:
    return Step(
        key="delete_bucket",
        title="Delete the weights and their bucket",
        action="storage.delete_bucket",
        request=ApiRequest("storage", "DELETE", f"/storage/v1/b/{bucket}"),
        cli=f"gcloud storage rm --recursive gs://{bucket}",
        required_role="roles/storage.admin",
        params={"bucket": bucket},
    )
