"""GPUs held against the team's quota and the project's capacity.

A deployment holds GPUs from the moment it is requested until it is torn down, so
two pending requests cannot both count on the same free GPUs. What a row holds is its
spec's gpus_held, kept on the row (Deployment.gpus_held), so holdings are summed in SQL.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum

from deployments.choices import TERMINAL_STATES
from deployments.models import Deployment, ProjectGpuCapacity, TeamGpuQuota
from deployments.services.google_capacity import GoogleCapacity, Source, google_capacity
from portal.models import Team


@dataclass(frozen=True)
class QuotaCheck:
    region: str
    gpu_type: str
    requested: int
    team_quota: int  # 0 when no quota is set: everything then needs an admin
    team_used: int
    # The recorded capacity, else Google's quota (google_capacity.py); None when neither is
    # known (capacity_source says why).
    project_capacity: int | None
    project_used: int
    capacity_source: str = Source.RECORDED
    capacity_read_at: datetime | None = None  # when Google's value was read

    @property
    def team_after(self) -> int:
        return self.team_used + self.requested

    @property
    def project_after(self) -> int:
        return self.project_used + self.requested

    # A request that holds no GPU (an adapter on its base's server) fits whatever the
    # holdings: it cannot take the team or the project over, even where they already are.

    @property
    def fits_team(self) -> bool:
        return self.requested == 0 or self.team_after <= self.team_quota

    @property
    def fits_project(self) -> bool:
        return (
            self.requested == 0
            or self.project_capacity is None
            or self.project_after <= self.project_capacity
        )

    @property
    def capacity_known(self) -> bool:
        """False when Google's quota could not be read: an admin weighs the request (one
        that holds no GPU needs no capacity)."""
        return self.requested == 0 or self.capacity_source != Source.UNKNOWN

    def capacity_note(self) -> str:
        """Where the project's capacity comes from, for people."""
        if self.capacity_source == Source.RECORDED:
            return "recorded by a platform admin"
        if self.capacity_source == Source.UNTRACKED:
            return "not checked: Hangar reads no Google quota for this GPU type; record one"
        if self.capacity_source == Source.UNKNOWN:
            return "unknown: Google's quota could not be read; record one or retry"
        age = GoogleCapacity(self.capacity_source, None, self.capacity_read_at).age_seconds()
        return f"Google's quota, read {_age(age)} ago"

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
            "project_capacity_source": self.capacity_source,
            "project_capacity_read_at": (
                self.capacity_read_at.isoformat() if self.capacity_read_at else None
            ),
        }


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _capacity(recorded: int | None, *, region: str, gpu_type: str) -> dict[str, Any]:
    """QuotaCheck's capacity fields: the recorded value, else Google's (cached read)."""
    if recorded is not None:
        return {"project_capacity": recorded}
    read = google_capacity(region=region, gpu_type=gpu_type)
    return {
        "project_capacity": read.max_gpus,
        "capacity_source": read.source,
        "capacity_read_at": read.read_at,
    }


def _live_holdings() -> QuerySet[Deployment]:
    return Deployment.objects.exclude(status__in=[s.value for s in TERMINAL_STATES])


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
    if lock and not capacity_rows.exists():
        # Google's quota is read (or its cached value found) before any row is locked, so a
        # slow Google never holds other requests for the team waiting on the lock.
        google_capacity(region=region, gpu_type=gpu_type)
    if lock:
        capacity_rows = capacity_rows.select_for_update()
        Team.objects.select_for_update().filter(pk=team.pk).first()
    capacity = capacity_rows.first()
    holding = _live_holdings().filter(gpu_type=gpu_type)
    if exclude is not None:
        holding = holding.exclude(pk=exclude.pk)
    held = holding.aggregate(
        team=Sum("gpus_held", filter=Q(team=team)),
        project=Sum("gpus_held", filter=Q(region=region)),
    )
    quota = TeamGpuQuota.objects.filter(team=team, gpu_type=gpu_type).first()
    return QuotaCheck(
        region=region,
        gpu_type=gpu_type,
        requested=requested,
        team_quota=quota.max_gpus if quota else 0,
        team_used=held["team"] or 0,
        project_used=held["project"] or 0,
        **_capacity(capacity.max_gpus if capacity else None, region=region, gpu_type=gpu_type),
    )


def quota_checks_of(deployments: Sequence[Deployment]) -> dict[int, QuotaCheck]:
    """quota_check of each request, the request itself excluded, in three queries however
    many there are (the approvals page): holdings summed per team, region and GPU type,
    the teams' quotas and the project's capacities, each read once."""
    gpu_types = {d.gpu_type for d in deployments}
    team_held: Counter[tuple[int, str]] = Counter()
    project_held: Counter[tuple[str, str]] = Counter()
    for row in (
        _live_holdings()
        .filter(gpu_type__in=gpu_types)
        .values("team_id", "region", "gpu_type")
        .annotate(held=Sum("gpus_held"))
    ):
        team_held[row["team_id"], row["gpu_type"]] += row["held"] or 0
        project_held[row["region"], row["gpu_type"]] += row["held"] or 0
    quotas = {
        (q.team_id, q.gpu_type): q.max_gpus
        for q in TeamGpuQuota.objects.filter(
            team_id__in={d.team_id for d in deployments}, gpu_type__in=gpu_types
        )
    }
    recorded = {
        (c.region, c.gpu_type): c.max_gpus
        for c in ProjectGpuCapacity.objects.filter(gpu_type__in=gpu_types)
    }
    # Google's values come from one cached read per GPU type; each place's once, not per row.
    capacities = {
        (d.region, d.gpu_type): _capacity(
            recorded.get((d.region, d.gpu_type)), region=d.region, gpu_type=d.gpu_type
        )
        for d in deployments
    }
    terminal = {s.value for s in TERMINAL_STATES}
    checks = {}
    for d in deployments:
        own = 0 if d.status in terminal else d.gpus_held  # excluded, as quota_check's `exclude`
        checks[d.pk] = QuotaCheck(
            region=d.region,
            gpu_type=d.gpu_type,
            requested=d.gpus_held,
            team_quota=quotas.get((d.team_id, d.gpu_type), 0),
            team_used=team_held[d.team_id, d.gpu_type] - own,
            project_used=project_held[d.region, d.gpu_type] - own,
            **capacities[d.region, d.gpu_type],
        )
    return checks
