"""What a request may use, read from the database once and handed to its target as plain
values (deployments/targets/offer.py): the clusters open to the team, the team's live
deployments, the GPUs it holds against its quota. A target's binding and a field's form
choices read only that, so no target reads a row."""

from collections import defaultdict
from typing import Any

from django.conf import settings

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.selectors import clusters_open_to_user
from deployments.choices import TERMINAL_STATES, Status
from deployments.models import Deployment, TeamGpuQuota
from deployments.targets import spec_for, target_for
from deployments.targets.offer import GpuStanding, Offer, OfferedCluster, OfferedDeployment
from portal.access import teams_where_role
from portal.models import Role, Team


def offer_for_team(*, team: Team) -> Offer:
    """What a request for `team` may use: every cluster open to it (in any state, so a
    binding can say why one is not ready), its live deployments, its GPUs by type."""
    live = _live(Deployment.objects.filter(team=team))
    held: dict[str, int] = defaultdict(int)
    for deployment, offered in live:
        held[deployment.gpu_type] += offered.spec.gpus_held
    quotas = dict(TeamGpuQuota.objects.filter(team=team).values_list("gpu_type", "max_gpus"))
    return Offer(
        team=team.slug,
        project=settings.GCP["PROJECT"],
        clusters=tuple(_cluster(c) for c in Cluster.objects.filter(teams=team)),
        deployments=tuple(offered for _, offered in live),
        gpus={
            gpu_type: GpuStanding(quota=quotas.get(gpu_type, 0), held=held.get(gpu_type, 0))
            for gpu_type in {*quotas, *held}
        },
    )


def offer_for_user(*, user: Any) -> Offer:
    """What a request form offers `user`: the ready clusters open to, and the live
    deployments of, any team they may request in (the request is checked against its one
    team again: offer_for_team)."""
    teams = teams_where_role(user=user, role=Role.DEPLOYER)
    return Offer(
        team="",
        project=settings.GCP["PROJECT"],
        clusters=tuple(_cluster(c) for c in clusters_open_to_user(user)),
        deployments=tuple(o for _, o in _live(Deployment.objects.filter(team__in=teams))),
    )


def live_deployments_of_team(team_id: int) -> tuple[OfferedDeployment, ...]:
    """The team's live deployments as plain values: what a plan reads of the rows that
    contribute to an object it shares with them (TargetDef.with_live)."""
    return tuple(o for _, o in _live(Deployment.objects.filter(team_id=team_id)))


def _cluster(cluster: Cluster) -> OfferedCluster:
    return OfferedCluster(
        id=cluster.pk,
        name=cluster.name,
        project=cluster.project,
        location=cluster.location,
        status=cluster.status,
        ready=cluster.status == ClusterStatus.READY,
        autopilot=cluster.autopilot,
        resource_name=cluster.resource_name,
    )


def _live(deployments: Any) -> list[tuple[Deployment, OfferedDeployment]]:
    rows = deployments.exclude(status__in=[s.value for s in TERMINAL_STATES])
    return [(d, _deployment(d)) for d in rows.select_related("team")]


def _deployment(deployment: Deployment) -> OfferedDeployment:
    spec = spec_for(deployment)
    return OfferedDeployment(
        id=deployment.pk,
        slug=deployment.slug,
        team=deployment.team.slug,
        target=deployment.target,
        status=deployment.status,
        ready=deployment.status == Status.READY,
        model=deployment.model,
        region=deployment.region,
        spec=spec,
        depends_on=target_for(deployment).depends_on(spec),
    )
