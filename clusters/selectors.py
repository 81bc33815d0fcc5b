"""Reads about clusters the pages, the admin and the services share."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from clusters.choices import CLUSTER_TERMINAL_STATES, ClusterStatus
from clusters.models import Cluster
from gcp.kube_conn import ClusterConn
from portal.access import teams_where_role
from portal.models import Role, Team


def clusters_open_to(*, team: Team) -> QuerySet[Cluster]:
    """The ready clusters a team may choose for a deployment."""
    return Cluster.objects.filter(status=ClusterStatus.READY, teams=team)


def clusters_open_to_user(user: Any) -> QuerySet[Cluster]:
    """The ready clusters open to any team the user may request deployments in: what a
    request form offers (the request itself is checked against its one team)."""
    teams = teams_where_role(user=user, role=Role.DEPLOYER)
    return Cluster.objects.filter(status=ClusterStatus.READY, teams__in=teams).distinct()


# Who may be using a cluster: each app whose rows run on clusters adds a lookup at start-up
# (deployments/apps.py), so this app needs to import none of them.
_USERS: list[Callable[[Cluster], list[str]]] = []


def add_cluster_users_lookup(lookup: Callable[[Cluster], list[str]]) -> None:
    """`lookup(cluster)`: the names of what runs on the cluster or may still."""
    _USERS.append(lookup)


def cluster_users(*, cluster: Cluster) -> list[str]:
    """The names of everything that runs on the cluster or may still."""
    return [name for lookup in _USERS for name in lookup(cluster)]


def cluster_connection(*, cluster_id: int) -> ClusterConn:
    """Where the cluster's API server is and its CA (base64 PEM), as get_cluster last said."""
    endpoint, ca = Cluster.objects.values_list("endpoint", "ca_certificate").get(pk=cluster_id)
    return ClusterConn(endpoint, ca)


def cluster_ca_at(*, endpoint: str) -> str:
    """The CA (base64 PEM) of the live cluster whose API server is at `endpoint` (host or
    host:port, as get_cluster gives it); empty when Hangar knows none there."""
    found = (
        Cluster.objects.filter(endpoint=endpoint)
        .exclude(status__in=[s.value for s in CLUSTER_TERMINAL_STATES])
        .values_list("ca_certificate", flat=True)
        .first()
    )
    return found or ""
