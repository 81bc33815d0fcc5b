"""What a preflight asks of the project: which permissions the caller holds
(Resource Manager and IAM testIamPermissions), which APIs are on (Service Usage), and how
many GPUs a region may hold (Cloud Quotas). Answered from the project setup
(sandbox/core/project.py).

- projects.testIamPermissions returns the subset of the asked permissions the caller holds
  (https://cloud.google.com/resource-manager/reference/rest/v3/projects/testIamPermissions);
  the roles' permissions follow https://cloud.google.com/iam/docs/understanding-roles for
  the permissions Hangar asks about.
- serviceAccounts.testIamPermissions, the same on one account (actAs).
- services.get: `state` ENABLED or DISABLED
  (https://cloud.google.com/service-usage/docs/reference/rest/v1/services/get).
- quotaInfos.get: per-region values in `dimensionsInfos`
  (https://cloud.google.com/docs/quotas/reference/rest/v1/projects.locations.services.quotaInfos/get).
"""

from __future__ import annotations

from google.iam.v1 import iam_policy_pb2
from google.protobuf import empty_pb2, json_format, struct_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.project import DEFAULT_GPU_QUOTA
from sandbox.core.routing import ApiCall, Route
from sandbox.iam import act_as

# Role -> permission prefixes it carries, for the permissions Hangar asks about.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "roles/run.admin": ("run.",),
    "roles/cloudbuild.builds.editor": ("cloudbuild.builds.",),
    "roles/artifactregistry.admin": ("artifactregistry.",),
    "roles/iam.serviceAccountAdmin": (
        "iam.serviceAccounts.create",
        "iam.serviceAccounts.delete",
        "iam.serviceAccounts.get",
        "iam.serviceAccounts.getIamPolicy",
        "iam.serviceAccounts.setIamPolicy",
        "iam.serviceAccounts.list",
        "iam.serviceAccounts.update",
    ),
    "roles/secretmanager.admin": ("secretmanager.",),
    "roles/storage.admin": ("storage.",),
    "roles/iam.serviceAccountUser": ("iam.serviceAccounts.actAs", "iam.serviceAccounts.get"),
    # GKE's (https://cloud.google.com/iam/docs/roles-permissions/container): the admin
    # holds every container.* permission; the developer the Kubernetes objects in
    # namespaces, their proxy and the custom resources; the viewer reads clusters.
    "roles/container.admin": ("container.",),
    "roles/container.developer": (
        "container.deployments.",
        "container.services.",
        "container.serviceAccounts.",
        "container.pods.",
        "container.events.",
        "container.secrets.",
        "container.thirdPartyObjects.",
        "container.namespaces.get",
        "container.namespaces.list",
        "container.resourceQuotas.get",
        "container.resourceQuotas.list",
        "container.clusters.get",
        "container.clusters.list",
    ),
    "roles/container.clusterViewer": ("container.clusters.get", "container.clusters.list"),
    "roles/owner": ("",),
    "roles/editor": ("",),
}
# The L4 quota Cloud Run checks with zonal redundancy off, and its default here.
L4_QUOTA_ID = "NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion"


def _struct(data: dict[str, object]) -> Message:
    return json_format.ParseDict(data, struct_pb2.Struct())


def _held(roles: set[str], permission: str) -> bool:
    return any(permission.startswith(p) for r in roles for p in ROLE_PERMISSIONS.get(r, ()))


def test_project_permissions(call: ApiCall) -> Message:
    request = call.body(iam_policy_pb2.TestIamPermissionsRequest())
    roles = call.state.setup.portal_roles
    return iam_policy_pb2.TestIamPermissionsResponse(
        permissions=[p for p in request.permissions if _held(roles, p)]
    )


def test_account_permissions(call: ApiCall) -> Message:
    request = call.body(iam_policy_pb2.TestIamPermissionsRequest())
    email = call.fields["resource"].rsplit("/", 1)[-1]
    try:
        act_as.check_act_as(call.state, email)
        acts = True
    except errors.ApiError:
        acts = False
    held = [p for p in request.permissions if p == act_as.ACT_AS and acts]
    return iam_policy_pb2.TestIamPermissionsResponse(permissions=held)


def get_service(call: ApiCall) -> Message:
    service = call.fields["name"].rsplit("/", 1)[-1]
    state = "DISABLED" if service in call.state.setup.disabled_services else "ENABLED"
    name = f"projects/{call.config.project_number}/services/{service}"
    return _struct(
        {"name": name, "parent": f"projects/{call.config.project_number}", "state": state}
    )


def get_quota_info(call: ApiCall) -> Message:
    name = call.fields["name"]
    service, quota_id = name.split("/services/", 1)[1].split("/quotaInfos/")
    if (service, quota_id) != ("run.googleapis.com", L4_QUOTA_ID):
        raise errors.not_found(f"QuotaInfo {name} not found.")
    regions = call.state.setup.gpu_quota
    # As Google answers: one entry without a region dimension for every region at the
    # default value (it "applies to all the dimension values except for those that have
    # another DimensionsInfo", its applicableLocations naming them), then one entry per
    # region whose value differs, more specific first
    # (https://cloud.google.com/docs/quotas/reference/rest/v1/DimensionsInfo).
    at_default = sorted(r for r, v in regions.items() if v == DEFAULT_GPU_QUOTA)
    infos = [
        {
            "dimensions": {"region": region},
            "details": {"value": str(value)},
            "applicableLocations": [region],
        }
        for region, value in sorted(regions.items())
        if value != DEFAULT_GPU_QUOTA
    ]
    if at_default:
        infos.append(
            {
                "details": {"value": str(DEFAULT_GPU_QUOTA)},
                "applicableLocations": at_default,
            }
        )
    return _struct(
        {
            "name": name,
            "quotaId": quota_id,
            "service": service,
            "isPrecise": True,
            "dimensions": ["region"],
            "dimensionsInfos": infos,
        }
    )


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    return [
        Route(
            "POST",
            "/v3/{resource=projects/*}:testIamPermissions",
            test_project_permissions,
            iam_policy_pb2.TestIamPermissionsRequest,
            "resourcemanager.projects.get",
            "cloudresourcemanager.googleapis.com",
            frozenset(),
            body="*",
        ),
        Route(
            "POST",
            "/v1/{resource=projects/*/serviceAccounts/*}:testIamPermissions",
            test_account_permissions,
            iam_policy_pb2.TestIamPermissionsRequest,
            "iam.serviceAccounts.get",
            "iam.googleapis.com",
            frozenset(),
            body="*",
        ),
        Route(
            "GET",
            "/v1/{name=projects/*/services/*}",
            get_service,
            empty_pb2.Empty,
            "serviceusage.services.get",
            "serviceusage.googleapis.com",
            frozenset(),
        ),
        Route(
            "GET",
            "/v1/{name=projects/*/locations/global/services/*/quotaInfos/*}",
            get_quota_info,
            empty_pb2.Empty,
            "cloudquotas.quotas.get",
            "cloudquotas.googleapis.com",
            frozenset({"global"}),
        ),
    ]
