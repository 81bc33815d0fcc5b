"""Cloud Storage: the bucket that holds a deployment's weights, and who may read it.

Every call passes retry=None: the library's default retry sleeps inside the worker,
and the rollout runner already retries transient errors between tasks.
"""

from functools import cache
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.iam import Policy
from google.cloud import storage  # type: ignore[attr-defined]

from gcp.clients import call_timeout, client_options, credentials
from gcp.iam_policy import POLICY_VERSION, PolicyJson, read_modify_write
from gcp.settings import gcp_setting

NO_RETRY: Any = None


@cache
def _client(project: str) -> storage.Client:
    return storage.Client(
        project=project, credentials=credentials(), client_options=client_options()
    )


def _project() -> str:
    return str(gcp_setting("PROJECT"))


def ensure_bucket(*, project: str, body: dict[str, Any]) -> bool:
    """Create the bucket the plan describes unless this project has it; True if created."""
    client = _client(project)
    bucket = client.bucket(body["name"])
    bucket.labels = dict(body.get("labels", {}))
    ubla = body.get("iamConfiguration", {}).get("uniformBucketLevelAccess", {})
    bucket.iam_configuration.uniform_bucket_level_access_enabled = bool(ubla.get("enabled"))
    try:
        client.create_bucket(
            bucket, location=body["location"], retry=NO_RETRY, timeout=call_timeout()
        )
    except gexc.Conflict:
        # Bucket names are global: whose it is, the caller reads (bucket_labels; another
        # project's answers 403 there).
        return False
    return True


def bucket_labels(bucket: str) -> dict[str, str] | None:
    """The bucket's labels (who owns it); None if there is no such bucket."""
    try:
        found = _client(_project()).get_bucket(bucket, retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return None
    return dict(found.labels or {})


def grant_bucket_role(*, bucket: str, member: str, role: str) -> bool:
    """Give `member` `role` on the bucket (uniform access); True if the policy changed."""
    handle = _client(_project()).bucket(bucket)

    def read() -> PolicyJson:
        policy = handle.get_iam_policy(
            requested_policy_version=POLICY_VERSION, retry=NO_RETRY, timeout=call_timeout()
        )
        # The client's Policy refuses dict access to a policy with conditions; its
        # JSON form holds every binding.
        return dict(policy.to_api_repr())

    def write(policy: PolicyJson) -> object:
        return handle.set_iam_policy(
            Policy.from_api_repr(policy), retry=NO_RETRY, timeout=call_timeout()
        )

    return read_modify_write(read, write, role=role, add=[member])


def delete_bucket(bucket: str) -> int | None:
    """Delete every object, then the bucket; None if it was already gone, else the count."""
    client = _client(_project())
    try:
        blobs = list(client.list_blobs(bucket, retry=NO_RETRY, timeout=call_timeout()))
        for blob in blobs:
            try:
                blob.delete(retry=NO_RETRY, timeout=call_timeout())
            except gexc.NotFound:
                continue
        client.bucket(bucket).delete(retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return None
    return len(blobs)
