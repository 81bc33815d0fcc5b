"""Whether the clusters Hangar has ready are still there: the clusters' reconcile.

A cluster can disappear behind Hangar's back (deleted in the console or with gcloud, or
a sandbox that lost its state). Steps on it then fail to reach its API server and are
retried as if Google were having a bad minute, and a tear down's hint blames Google.
So the beat reads every ready cluster from GKE (get_cluster, as the register step does):
one GKE answers 404 for (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters/get)
is marked lost, with the reason, through the guarded transition, and each app whose rows
run on clusters is told (deployments/apps.py registers deployments' listener), so that
their steps fail naming the lost cluster. Any other error leaves the cluster as it is:
the next round reads it again.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from google.api_core import exceptions as gexc

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.transitions import cluster_transition
from gcp import container
from portal.exceptions import InvalidTransition

log = logging.getLogger(__name__)

LOST_HINT = (
    "GKE no longer has this cluster, so nothing Hangar ran on it is there. If it was "
    "deleted by mistake, create it again (or register the new one) and retry the "
    "deployments on it; otherwise remove it from Hangar."
)

# (cluster, reason) → None: told once when a cluster is marked lost.
_LOST_LISTENERS: list[Callable[[Cluster, str], object]] = []


def add_cluster_lost_listener(listener: Callable[[Cluster, str], object]) -> None:
    """`listener(cluster, reason)` hears of each cluster marked lost (AppConfig.ready)."""
    _LOST_LISTENERS.append(listener)


def clusters_check() -> list[int]:
    """Read each ready cluster from GKE; mark lost those it no longer has. Their ids."""
    lost = []
    for cluster in Cluster.objects.filter(status=ClusterStatus.READY):
        try:
            info = container.get_cluster(cluster.resource_name)
        except gexc.NotFound as exc:
            if _marked_lost(cluster, f"GKE has no cluster {cluster.name}: {exc}"):
                lost.append(cluster.pk)
            continue
        except gexc.GoogleAPIError as exc:  # transient or not ours to judge: next round
            log.warning("could not read cluster %s: %s", cluster.resource_name, exc)
            continue
        if info.endpoint and (info.endpoint, info.ca_certificate) != (
            cluster.endpoint,
            cluster.ca_certificate,
        ):
            # GKE moved the control plane (a new IP, a rotated CA): follow what it says.
            Cluster.objects.filter(pk=cluster.pk).update(
                endpoint=info.endpoint, ca_certificate=info.ca_certificate
            )
    return lost


def _marked_lost(cluster: Cluster, reason: str) -> bool:
    """Mark it lost; False when that was refused because it, or a row on it, moved
    meanwhile (a removal asked): the other clusters are still checked, and this one, if
    still ready, next round."""
    try:
        cluster_mark_lost(cluster=cluster, reason=reason)
    except InvalidTransition as refused:
        log.warning("cluster %s not marked lost: %s", cluster.pk, refused.message)
        return False
    return True


def cluster_mark_lost(*, cluster: Cluster, reason: str) -> Cluster:
    """Ready → lost, with the reason on its timeline, and what ran on it told, in one
    transaction: a lost cluster is never read again, so one whose listeners failed stays
    ready, and the next round marks and tells again."""
    with transaction.atomic():
        lost = cluster_transition(
            cluster=cluster,
            to=ClusterStatus.LOST,
            message=reason,
            changes={"failure_step": "", "failure_message": reason, "failure_hint": LOST_HINT},
        )
        for listener in _LOST_LISTENERS:
            listener(lost, reason)
    return lost
