"""What a preflight reads from Google, one call each: the permissions the portal holds
(Resource Manager's and IAM's testIamPermissions), whether an API is on (Service Usage),
a quota's value per region (Cloud Quotas). None of these APIs has a REST client here, so
the calls go through clients.rest like IAM Admin's."""

from typing import Any

from gcp.clients import rest, universe_domain

# The APIs by service name; clients.rest finds them in the configured universe.
RESOURCE_MANAGER = "cloudresourcemanager"
IAM = "iam"
SERVICE_USAGE = "serviceusage"
CLOUD_QUOTAS = "cloudquotas"
# Cloud Run's per-region GPU quota with zonal redundancy off (what the plans ask for), by
# GPU type; reference/cloud-run.md §1.3 names the L4's. The preflight reports it and the
# request assessment reads it where no project capacity is recorded.
CLOUD_RUN_GPU_QUOTAS = {"nvidia-l4": "NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion"}


def service_name(api: str) -> str:
    """An API as Service Usage names it: its host in the configured universe (run.googleapis.com
    on Google's; a sovereign universe names its services after its own domain [verify against
    a live one])."""
    return f"{api}.{universe_domain()}"


def project_permissions(project: str, permissions: list[str]) -> set[str]:
    """The subset of `permissions` the caller holds on the project."""
    reply = rest(
        RESOURCE_MANAGER,
        "POST",
        f"/v3/projects/{project}:testIamPermissions",
        {"permissions": permissions},
    )
    return set(reply.get("permissions", []))


def account_permissions(project: str, email: str, permissions: list[str]) -> set[str]:
    reply = rest(
        IAM,
        "POST",
        f"/v1/projects/{project}/serviceAccounts/{email}:testIamPermissions",
        {"permissions": permissions},
    )
    return set(reply.get("permissions", []))


def service_enabled(project: str, service: str) -> bool:
    reply = rest(SERVICE_USAGE, "GET", f"/v1/projects/{project}/services/{service}")
    return bool(reply.get("state") == "ENABLED")


def quota_by_region(
    project: str, service: str, quota_id: str, timeout: float | None = None
) -> dict[str, int]:
    """A per-region quota's value in each region it names (-1: unlimited)."""
    reply: dict[str, Any] = rest(
        CLOUD_QUOTAS,
        "GET",
        f"/v1/projects/{project}/locations/global/services/{service}/quotaInfos/{quota_id}",
        timeout=timeout,
    )
    # An entry without a region applies to every region no other entry names, as its
    # applicableLocations list (DimensionsInfo: https://cloud.google.com/docs/quotas/reference/rest/v1/DimensionsInfo).
    values: dict[str, int] = {}
    defaults: dict[str, int] = {}
    for info in reply.get("dimensionsInfos", []):
        value = int(info.get("details", {}).get("value", 0))
        region = info.get("dimensions", {}).get("region")
        if region:
            values[region] = value
        else:
            defaults.update(dict.fromkeys(info.get("applicableLocations", []), value))
    defaults.pop("global", None)
    return {**defaults, **values}
