"""What a request may use, as plain values: the clusters open to its team, the team's live
deployments, the GPUs the team holds against its quota, the project Hangar deploys into.

The request service reads them from the database (deployments/services/offers.py) and
hands them to the target: a target's binding (`TargetDef.bind_team`) and a field's form
choices (`SpecField.form_choices`) read this and nothing else, so no target reads a row.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OfferedCluster:
    """A GKE cluster open to the team (in any state: a binding says why it is not ready)."""

    id: int
    name: str
    project: str
    location: str
    status: str
    ready: bool
    autopilot: bool
    resource_name: str  # projects/P/locations/L/clusters/NAME


@dataclass(frozen=True)
class OfferedDeployment:
    """A live deployment (neither rejected nor torn down) of the team."""

    id: int
    slug: str
    team: str  # the team's slug
    target: str
    status: str
    ready: bool
    model: str
    region: str
    spec: Any  # its spec, as its target reads it
    # The deployment it runs on (its target's `depends_on`), None for most.
    depends_on: int | None = None


@dataclass(frozen=True)
class GpuStanding:
    """One GPU type: what the team's quota allows and what its live deployments hold."""

    quota: int  # 0 when no quota is set
    held: int


@dataclass(frozen=True)
class Offer:
    # The team the request is for (its slug); empty for the choices a form offers a user
    # across the teams they may request in.
    team: str
    project: str  # the project Hangar deploys into
    clusters: tuple[OfferedCluster, ...] = ()
    deployments: tuple[OfferedDeployment, ...] = ()
    gpus: Mapping[str, GpuStanding] = field(default_factory=dict)

    def cluster(self, pk: int | None) -> OfferedCluster | None:
        return next((c for c in self.clusters if c.id == pk), None)

    @property
    def ready_clusters(self) -> tuple[OfferedCluster, ...]:
        return tuple(c for c in self.clusters if c.ready)

    def deployment(self, pk: int | None, *, target: str) -> OfferedDeployment | None:
        return next((d for d in self.deployments if d.id == pk and d.target == target), None)

    def gpu_ceiling(self, gpu_type: str, requested: int) -> int:
        """The most GPUs of this type the team may hold with `requested` more: its quota,
        or more when an admin approves past it."""
        standing = self.gpus.get(gpu_type, GpuStanding(quota=0, held=0))
        return max(standing.quota, standing.held + requested)
