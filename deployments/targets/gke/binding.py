"""A GKE request bound to its team: the cluster it names must be ready, open to the team
and in the project Hangar deploys into (its bucket, Google account and Workload Identity
pool live there); the deployment's region is the cluster's.

It also sets the team's GPU ceiling the plan writes into the namespace's ResourceQuota.
A ResourceQuota counts what pods request (`requests.nvidia.com/gpu`), never the nodes
under them: Hangar's own quota is what counts the node's GPUs (gpus_held). Pod GPUs are
at most node GPUs, so a ceiling of what Hangar lets the team hold never refuses a pod
Hangar approved: the team's quota, or more when an admin approved past it.
"""

import re
from dataclasses import replace
from typing import Any

from django.conf import settings

from deployments.targets.fields import FieldErrors

_ZONE = re.compile(r"^(?P<region>.+)-[a-z]$")


def region_of(location: str) -> str:
    """us-central1-a → us-central1; a region stays itself (Autopilot clusters are regional)."""
    match = _ZONE.match(location)
    return match["region"] if match else location


def bind_cluster(spec: Any, team: Any) -> tuple[Any, FieldErrors]:
    from clusters.choices import ClusterStatus
    from clusters.models import Cluster
    from clusters.selectors import clusters_open_to
    from deployments.services.quotas import quota_check

    if spec.cluster is None:  # a price needs none; a request is refused without one
        return spec, {}
    cluster = Cluster.objects.filter(pk=spec.cluster, teams=team).first()
    offered = ", ".join(f"{c.pk} ({c.name})" for c in clusters_open_to(team=team)) or "none yet"
    if cluster is None:  # unknown, or another team's: the same answer, nothing leaks
        message = f"No cluster {spec.cluster} is open to {team.slug}. Open to it: {offered}."
        return spec, {"cluster": [message]}
    if cluster.status != ClusterStatus.READY:
        return spec, {
            "cluster": [f"Cluster {cluster.name} is {cluster.status}, not ready. Ready: {offered}."]
        }
    project = settings.GCP["PROJECT"]
    if cluster.project != project:
        return spec, {
            "cluster": [
                f"Cluster {cluster.name} is in project {cluster.project}; Hangar deploys into "
                f"{project} (the weights bucket, the Google account and the Workload Identity "
                "pool live there)."
            ]
        }
    bound = replace(spec, region=region_of(cluster.location))
    quota = quota_check(
        team=team, region=bound.region, gpu_type=bound.gpu_type, requested=bound.gpus_held
    )
    return replace(bound, team_gpus=max(quota.team_quota, quota.team_after)), {}
