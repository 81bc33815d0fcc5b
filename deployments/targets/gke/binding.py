"""A GKE request bound to its team: the cluster it names must be ready, open to the team
and in the project Hangar deploys into (its bucket, Google account and Workload Identity
pool live there); the deployment's region is the cluster's. All of it is read from what
the request service offers the team (offer.py), never from the database.

It also sets the team's GPU ceiling the plan writes into the namespace's ResourceQuota.
A ResourceQuota counts what pods request (`requests.nvidia.com/gpu`), never the nodes
under them: Hangar's own quota is what counts the node's GPUs (gpus_held). Pod GPUs are
at most node GPUs, so a ceiling of what Hangar lets the team hold never refuses a pod
Hangar approved: the team's quota, or more when an admin approved past it.
"""

import re
from dataclasses import replace
from typing import Any

from deployments.targets.fields import FieldErrors
from deployments.targets.offer import Offer

_ZONE = re.compile(r"^(?P<region>.+)-[a-z]$")


def region_of(location: str) -> str:
    """us-central1-a → us-central1; a region stays itself (Autopilot clusters are regional)."""
    match = _ZONE.match(location)
    return match["region"] if match else location


def bind_cluster(spec: Any, offer: Offer) -> tuple[Any, FieldErrors]:
    if spec.cluster is None:  # a price needs none; a request is refused without one
        return spec, {}
    cluster = offer.cluster(spec.cluster)
    offered = ", ".join(f"{c.id} ({c.name})" for c in offer.ready_clusters) or "none yet"
    if cluster is None:  # unknown, or another team's: the same answer, nothing leaks
        message = f"No cluster {spec.cluster} is open to {offer.team}. Open to it: {offered}."
        return spec, {"cluster": [message]}
    if not cluster.ready:
        return spec, {
            "cluster": [f"Cluster {cluster.name} is {cluster.status}, not ready. Ready: {offered}."]
        }
    if cluster.project != offer.project:
        return spec, {
            "cluster": [
                f"Cluster {cluster.name} is in project {cluster.project}; Hangar deploys into "
                f"{offer.project} (the weights bucket, the Google account and the Workload "
                "Identity pool live there)."
            ]
        }
    bound = replace(spec, region=region_of(cluster.location))
    return replace(bound, team_gpus=offer.gpu_ceiling(bound.gpu_type, bound.gpus_held)), {}
