"""Platform admins set GPU quotas and the project's capacity; every change is on the record."""

from typing import Any

from django.db import transaction

from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from portal.access import is_platform_admin
from portal.audit import audit_record
from portal.exceptions import PermissionDenied
from portal.models import Team


def _require_admin(user: Any) -> None:
    if not is_platform_admin(user):
        raise PermissionDenied("Only platform admins set GPU quotas.")


@transaction.atomic
def team_quota_set(
    *, team: Team, gpu_type: str, max_gpus: int, by: Any, reason: str = ""
) -> TeamGpuQuota:
    _require_admin(by)
    quota = TeamGpuQuota.objects.select_for_update().filter(team=team, gpu_type=gpu_type).first()
    before = {"max_gpus": quota.max_gpus} if quota else None
    quota, _ = TeamGpuQuota.objects.update_or_create(
        team=team, gpu_type=gpu_type, defaults={"max_gpus": max_gpus}
    )
    audit_record(
        action="quota.team_set",
        obj=quota,
        actor=by,
        team=team,
        reason=reason,
        before=before,
        after={"gpu_type": gpu_type, "max_gpus": max_gpus},
    )
    return quota


@transaction.atomic
def project_capacity_set(
    *, region: str, gpu_type: str, max_gpus: int, by: Any, quota_name: str = "", reason: str = ""
) -> ProjectGpuCapacity:
    _require_admin(by)
    row = (
        ProjectGpuCapacity.objects.select_for_update()
        .filter(region=region, gpu_type=gpu_type)
        .first()
    )
    before = {"max_gpus": row.max_gpus} if row else None
    row, _ = ProjectGpuCapacity.objects.update_or_create(
        region=region, gpu_type=gpu_type, defaults={"max_gpus": max_gpus, "quota_name": quota_name}
    )
    audit_record(
        action="quota.project_set",
        obj=row,
        actor=by,
        reason=reason,
        before=before,
        after={"region": region, "gpu_type": gpu_type, "max_gpus": max_gpus},
    )
    return row
