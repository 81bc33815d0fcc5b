"""Cloud Storage steps any target that keeps weights in a bucket uses: the bucket beside
where the model runs, and its removal with everything in it."""

from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.plan import ApiRequest, Step


def bucket_body(
    ref: DeploymentRef, bucket: str, location: str, labels: dict[str, str] | None = None
) -> dict[str, object]:
    return {
        "name": bucket,
        # Beside the service or cluster: the weights are read without crossing regions.
        "location": location.upper(),
        "labels": labels or ref.labels,
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
    }


def ensure_bucket(
    ref: DeploymentRef,
    ctx: PlanContext,
    *,
    bucket: str,
    location: str,
    labels: dict[str, str] | None = None,
    owner: dict[str, str] | None = None,
) -> Step:
    """`labels`: the owner labels the bucket carries (the deployment's by default);
    `owner`: a bucket met under its name is adopted only when its labels name this owner
    (as delete_bucket's). None: taken as found."""
    body = bucket_body(ref, bucket, location, labels)
    carried: dict[str, str] = body["labels"]  # type: ignore[assignment]
    said = ",".join(f"{k}={v}" for k, v in carried.items())
    params: dict[str, object] = {"project": ctx.project, "bucket": bucket}
    if owner:
        params["owner"] = owner
    return Step(
        key="ensure_bucket",
        title="Create the bucket that holds the weights",
        action="storage.ensure_bucket",
        request=ApiRequest(
            "storage",
            "POST",
            f"/storage/v1/b?project={ctx.project}",
            body,
        ),
        cli=(
            f"gcloud storage buckets create gs://{bucket} --location={location} "
            f"--uniform-bucket-level-access --update-labels={said}"
        ),
        required_role="roles/storage.admin",
        params=params,
    )


def delete_bucket(bucket: str, owner: dict[str, str] | None = None) -> Step:
    """`owner`: deleted only when the bucket's labels name the same owner."""
    return Step(
        key="delete_bucket",
        title="Delete the weights and their bucket",
        action="storage.delete_bucket",
        request=ApiRequest("storage", "DELETE", f"/storage/v1/b/{bucket}"),
        cli=f"gcloud storage rm --recursive gs://{bucket}",
        required_role="roles/storage.admin",
        params={"bucket": bucket, **({"owner": owner} if owner else {})},
    )
