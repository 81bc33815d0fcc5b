"""GPUs held against the team's quota and the project's capacity.

A deployment holds GPUs from the moment it is requested until it is torn down, so
two pending requests cannot both count on the same free GPUs.
"""

from dataclasses import dataclass
from typing import Any

from deployments.choices import TERMINAL_STATES
from deployments.models import Deployment, ProjectGpuCapacity, TeamGpuQuota
from deployments.targets import spec_for
from portal.models import Team


@dataclass(frozen=True)
class QuotaCheck:
    region: str
    gpu_type: str
    requested: int
    team_quota: int  # 0 when no quota is set: everything then needs an admin
    team_used: int
    project_capacity: int | None  # None when the admins have not recorded Google's quota
    project_used: int

    @property
    def team_after(self) -> int:
        return self.team_used + self.requested

    @property
    def project_after(self) -> int:
        return self.project_used + self.requested

    @property
    def fits_team(self) -> bool:
        return self.team_after <= self.team_quota

    @property
    def fits_project(self) -> bool:
        return self.project_capacity is None or self.project_after <= self.project_capacity

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "gpu_type": self.gpu_type,
            "requested": self.requested,
            "team_quota": self.team_quota,
            "team_used": self.team_used,
            "team_after": self.team_after,
            "project_capacity": self.project_capacity,
            "project_used": self.project_used,
            "project_after": self.project_after,
        }


def _held(deployments: Any) -> int:
    return sum(spec_for(d).gpus_held for d in deployments.select_related("team"))


def quota_check(
    *,
    team: Team,
    region: str,
    gpu_type: str,
    requested: int,
    exclude: Deployment | None = None,
    lock: bool = False,
) -> QuotaCheck:
    """Where the team and the project stand for this GPU type and region.

    With lock=True (inside a transaction) the capacity row and the team row are locked
    in that order, so concurrent requests for the same GPUs queue and each sees the
    ones committed before it.
    """
    capacity_rows = ProjectGpuCapacity.objects.filter(region=region, gpu_type=gpu_type)
    if lock:
        capacity_rows = capacity_rows.select_for_update()
        Team.objects.select_for_update().filter(pk=team.pk).first()
    capacity = capacity_rows.first()
    holding = Deployment.objects.exclude(status__in=[s.value for s in TERMINAL_STATES]).filter(
        gpu_type=gpu_type
    )
    if exclude is not None:
        holding = holding.exclude(pk=exclude.pk)
    quota = TeamGpuQuota.objects.filter(team=team, gpu_type=gpu_type).first()
    return QuotaCheck(
        region=region,
        gpu_type=gpu_type,
        requested=requested,
        team_quota=quota.max_gpus if quota else 0,
        team_used=_held(holding.filter(team=team)),
        project_capacity=capacity.max_gpus if capacity else None,
        project_used=_held(holding.filter(region=region)),
    )
