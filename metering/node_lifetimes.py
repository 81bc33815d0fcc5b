"""GKE node lifetimes: what a deployment's nodes billed, observed through the cluster's
Kubernetes API.

GKE bills a node from its creation to its removal, whatever runs on it (Autopilot's
Accelerator class bills the whole node: https://cloud.google.com/kubernetes-engine/pricing).
A node's creationTimestamp says when it began. A removed node is gone from the API, but the
node lifecycle controller records its removal as an Event on it (reason `RemovingNode`, the
node's uid, in `default`: kubernetes pkg/controller/nodelifecycle, `RecordNodeEvent`), and
that event's time is its end. Events live an hour (kube-apiserver `--event-ttl`): a node
whose removal was not read within the hour ends at the last read that saw it (early by at
most one read interval). Until then each read moves the end of a listed node to the read.

A node is the deployment's when it belongs to the node pool Hangar made for it, or once a
read sees one of its pods bound to it (spec.nodeName); it stays the deployment's until it
is gone, since GKE keeps billing an emptied node until the autoscaler removes it.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q

from gcp import kube
from metering.models import NodeLifetime

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
NODEPOOL = "cloud.google.com/gke-nodepool"
REMOVED = "RemovingNode"
EVENT_TTL = timedelta(hours=1)


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def nodes_observe(
    *,
    deployment_id: int,
    conn: kube.ClusterConn,
    now: datetime,
    namespace: str = "",
    selector: str = "",
    node_pool: str = "",
) -> None:
    """Record the deployment's nodes as the API server lists them now: those of its own
    node pool, or those hosting its pods (`selector` in `namespace`), and those recorded
    before."""
    nodes = {n["metadata"]["name"]: n for n in kube.list_objects(conn, "v1", "Node")}
    if node_pool:
        hosting = {
            name
            for name, node in nodes.items()
            if (node["metadata"].get("labels") or {}).get(NODEPOOL) == node_pool
        }
    else:
        pods = kube.list_objects(conn, "v1", "Pod", namespace, label_selector=selector)
        hosting = {p["spec"]["nodeName"] for p in pods if p.get("spec", {}).get("nodeName")}
    listed = {node["metadata"]["uid"] for node in nodes.values()}
    open_uids = NodeLifetime.objects.filter(deployment_id=deployment_id, gone=False)
    missing = set(open_uids.values_list("uid", flat=True)) - listed
    removed = _removals(conn) if missing else {}
    with transaction.atomic():
        known = NodeLifetime.objects.select_for_update().filter(
            deployment_id=deployment_id, gone=False
        )
        for lifetime in known:
            if lifetime.uid in listed:
                hosting.add(lifetime.name)
            else:
                _ended(lifetime, removed.get(lifetime.uid), now)
        for name in hosting:
            node = nodes.get(name)
            if node is not None:
                _seen(deployment_id, node, now)


def _removals(conn: kube.ClusterConn) -> dict[str, datetime]:
    """When each removed node the controller still has an event for went, by uid."""
    events = kube.list_objects(
        conn, "v1", "Event", "default", field_selector=f"involvedObject.kind=Node,reason={REMOVED}"
    )
    out: dict[str, datetime] = {}
    for event in events:
        uid = (event.get("involvedObject") or {}).get("uid")
        stamp = event.get("eventTime") or event.get("firstTimestamp")
        if uid and stamp:
            at = _time(str(stamp))
            out[uid] = min(out.get(uid, at), at)
    return out


def _ended(lifetime: NodeLifetime, removed_at: datetime | None, now: datetime) -> None:
    """Close a node no longer listed at its removal; at its last sight once the removal's
    record would have expired; else leave it for a later read to find the record."""
    if removed_at is not None:
        lifetime.last_seen_at = max(removed_at, lifetime.created_at)
    elif now - lifetime.last_seen_at < EVENT_TTL:
        return
    lifetime.gone = True
    lifetime.save(update_fields=["last_seen_at", "gone"])


def _seen(deployment_id: int, node: dict[str, Any], now: datetime) -> None:
    meta = node["metadata"]
    created = _time(meta["creationTimestamp"])
    lifetime, made = NodeLifetime.objects.get_or_create(
        deployment_id=deployment_id,
        uid=meta["uid"],
        defaults={
            "name": meta["name"],
            "machine_type": (meta.get("labels") or {}).get(INSTANCE_TYPE, "")[:64],
            "created_at": created,
            "last_seen_at": max(now, created),
        },
    )
    # A read that lands late (an earlier `now`) never moves the end back.
    if not made and not lifetime.gone and now > lifetime.last_seen_at:
        lifetime.last_seen_at = now
        lifetime.save(update_fields=["last_seen_at"])


def node_seconds(*, deployment_id: int, start: datetime, end: datetime) -> Decimal:
    """Node-seconds of the deployment's recorded nodes within [start, end)."""
    total = Decimal(0)
    lifetimes = NodeLifetime.objects.filter(deployment_id=deployment_id).filter(
        Q(created_at__lt=end) & Q(last_seen_at__gt=start)
    )
    for lifetime in lifetimes:
        overlap = min(lifetime.last_seen_at, end) - max(lifetime.created_at, start)
        total += Decimal(overlap.total_seconds())
    return total


def last_seen(*, deployment_id: int) -> datetime | None:
    """Where the deployment's nodes end last: a removal the controller recorded, or else
    the last read that saw a node."""
    found: datetime | None = NodeLifetime.objects.filter(deployment_id=deployment_id).aggregate(
        last=Max("last_seen_at")
    )["last"]
    return found
