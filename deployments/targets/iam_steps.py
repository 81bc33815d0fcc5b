"""IAM steps any target uses: a deployment's own service account, and one role for one
member on a secret or a bucket. The read-modify-write itself is the adapters' (one helper,
gcp/iam_policy.py); these only say what to change."""

import shlex

from deployments.targets.plan import PlanContext
from runbook.ownership import owner_note
from runbook.plan import ApiRequest, Step

SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"  # noqa: S105 - a role name
OBJECT_VIEWER = "roles/storage.objectViewer"
# Read, list, create and delete objects: what `gcloud storage rsync` into a bucket needs.
OBJECT_USER = "roles/storage.objectUser"
# Carries iam.serviceAccounts.actAs: deploying a service, or starting a build, that runs as
# an account needs it on that account (https://cloud.google.com/iam/docs/service-accounts-actas).
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"


def ensure_service_account(
    ctx: PlanContext,
    *,
    account_id: str,
    body: dict[str, object],
    display_name: str,
    owner: dict[str, str] | None = None,
) -> Step:
    """`owner`: the owner keys the account carries, noted in its description (an account
    has no labels: runbook/ownership.py owner_note); an account met under its name is
    adopted only when its note says the same. None: taken as found (Cloud Run's, as yet)."""
    params: dict[str, object] = {"project": ctx.project, "account_id": account_id}
    if owner:
        account = dict(body.get("serviceAccount") or {})  # type: ignore[call-overload]
        said = str(account.get("description") or "")
        account["description"] = f"{said} ({owner_note(owner)})".strip()
        body = {**body, "serviceAccount": account}
        params["owner"] = owner
    return Step(
        key="ensure_service_account",
        title="Create the deployment's own service account",
        action="iam.ensure_service_account",
        request=ApiRequest("iam", "POST", f"/v1/projects/{ctx.project}/serviceAccounts", body),
        cli=(
            f"gcloud iam service-accounts create {account_id} "
            f"--display-name={shlex.quote(display_name)}"
        ),
        required_role="roles/iam.serviceAccountAdmin",
        params=params,
    )


def delete_service_account(
    ctx: PlanContext, *, email: str, owner: dict[str, str] | None = None
) -> Step:
    """`owner`: deleted only when the account's owner note says the same."""
    name = f"projects/{ctx.project}/serviceAccounts/{email}"
    return Step(
        key="delete_service_account",
        title="Delete the deployment's service account",
        action="iam.delete_service_account",
        request=ApiRequest("iam", "DELETE", f"/v1/projects/{ctx.project}/serviceAccounts/{email}"),
        cli=f"gcloud iam service-accounts delete {email} --quiet",
        required_role="roles/iam.serviceAccountAdmin",
        params={"name": name, **({"owner": owner} if owner else {})},
    )


def grant_secret_accessor(
    *, secret: str, member: str, title: str, key: str = "grant_secret_access"
) -> Step:
    return Step(
        key=key,
        title=title,
        action="secret_manager.grant_accessor",
        request=ApiRequest(
            "secretmanager",
            "POST",
            f"/v1/{secret}:setIamPolicy",
            {"policy": {"bindings": [{"role": SECRET_ACCESSOR, "members": [member]}]}},
        ),
        cli=(
            f"gcloud secrets add-iam-policy-binding {secret.rsplit('/', 1)[1]} "
            f"--member={member} --role={SECRET_ACCESSOR}"
        ),
        required_role="roles/secretmanager.admin",
        params={"name": secret, "member": member, "role": SECRET_ACCESSOR},
    )


def revoke_secret_accessor(*, secret: str, member: str) -> Step:
    return Step(
        key="revoke_secret_access",
        title="Take back the service account's access to the token",
        action="secret_manager.revoke_accessor",
        request=ApiRequest("secretmanager", "POST", f"/v1/{secret}:setIamPolicy"),
        cli=(
            f"gcloud secrets remove-iam-policy-binding {secret.rsplit('/', 1)[1]} "
            f"--member={member} --role={SECRET_ACCESSOR}"
        ),
        required_role="roles/secretmanager.admin",
        params={"name": secret, "member": member, "role": SECRET_ACCESSOR},
    )


def grant_bucket_reader(*, bucket: str, member: str, title: str) -> Step:
    return _grant_bucket_role(
        key="grant_bucket_reader", bucket=bucket, member=member, role=OBJECT_VIEWER, title=title
    )


def grant_bucket_writer(*, bucket: str, member: str, title: str) -> Step:
    return _grant_bucket_role(
        key="grant_builder_bucket_writer",
        bucket=bucket,
        member=member,
        role=OBJECT_USER,
        title=title,
    )


def _grant_bucket_role(*, key: str, bucket: str, member: str, role: str, title: str) -> Step:
    return Step(
        key=key,
        title=title,
        action="storage.grant_bucket_role",
        request=ApiRequest(
            "storage",
            "PUT",
            f"/storage/v1/b/{bucket}/iam",
            {"bindings": [{"role": role, "members": [member]}]},
        ),
        cli=(
            f"gcloud storage buckets add-iam-policy-binding gs://{bucket} "
            f"--member={member} --role={role}"
        ),
        required_role="roles/storage.admin",
        params={"bucket": bucket, "member": member, "role": role},
    )


def grant_act_as(ctx: PlanContext, *, email: str) -> Step:
    """Let the portal deploy services that run as the deployment's account: without
    serviceAccountUser on it, Cloud Run refuses the deploy (roles/run.admin lacks actAs).
    Creating the account (roles/iam.serviceAccountAdmin) lets the portal set its policy."""
    member = f"serviceAccount:{ctx.portal_service_account}"
    return Step(
        key="grant_act_as",
        title="Let the portal deploy services that run as the service account",
        action="iam.grant_service_account_role",
        request=ApiRequest(
            "iam",
            "POST",
            f"/v1/projects/{ctx.project}/serviceAccounts/{email}:setIamPolicy",
            {"policy": {"bindings": [{"role": SERVICE_ACCOUNT_USER, "members": [member]}]}},
        ),
        cli=(
            f"gcloud iam service-accounts add-iam-policy-binding {email} "
            f"--role={SERVICE_ACCOUNT_USER} --member={member} --project={ctx.project}"
        ),
        required_role="roles/iam.serviceAccountAdmin",
        params={
            "project": ctx.project,
            "email": email,
            "member": member,
            "role": SERVICE_ACCOUNT_USER,
        },
    )


WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"


def grant_workload_identity_user(*, project: str, email: str, member: str) -> Step:
    """Let a Kubernetes service account act as the deployment's Google account: `member`
    is `serviceAccount:POOL[NAMESPACE/KSA]` (deployments/targets/gke_vllm/identity.py)."""
    return Step(
        key="grant_workload_identity",
        title="Let the pod's Kubernetes account act as the deployment's Google account",
        action="iam.grant_service_account_role",
        request=ApiRequest(
            "iam",
            "POST",
            f"/v1/projects/{project}/serviceAccounts/{email}:setIamPolicy",
            {"policy": {"bindings": [{"role": WORKLOAD_IDENTITY_USER, "members": [member]}]}},
        ),
        cli=(
            f"gcloud iam service-accounts add-iam-policy-binding {email} "
            f"--role={WORKLOAD_IDENTITY_USER} --member={member} --project={project}"
        ),
        required_role="roles/iam.serviceAccountAdmin",
        params={
            "project": project,
            "email": email,
            "member": member,
            "role": WORKLOAD_IDENTITY_USER,
        },
    )
