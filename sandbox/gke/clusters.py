"""GKE's cluster API, container_v1 over REST: create, get, delete clusters; get operations.

Follows https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters
and .../projects.locations.operations. As strict as GKE where Hangar can trip:
- bodies parse against the client library's own messages, unknown fields rejected;
- a cluster name is a lowercase letter, then up to 39 lowercase letters, digits or
  hyphens, not ending in one (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-an-autopilot-cluster);
- an Autopilot cluster is regional and has no node pools: GKE manages its nodes
  (https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-overview);
- a Standard cluster's options are checked as GKE checks them (sandbox/gke/standard.py)
  and its node pools have their own calls (sandbox/gke/node_pools.py);
- one operation at a time per cluster: a second one fails with FAILED_PRECONDITION
  while the first runs (https://cloud.google.com/kubernetes-engine/docs/troubleshooting);
- operations are container_v1 Operation messages (not google.longrunning), named
  `operation-<ms>-<hex>`, polled at projects/P/locations/L/operations/ID; they finish
  after the sandbox's operation delay, or with an injected `operation_error` fault.
A cluster that reaches RUNNING gets its own control plane (sandbox/kube/control_plane.py):
an HTTPS Kubernetes API on 127.0.0.1 with its own CA, which get_cluster returns.
"""

from __future__ import annotations

import datetime
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from google.cloud import container_v1
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.routing import ApiCall, Handler, Route
from sandbox.core.validation import MULTI_REGIONS, REGIONS, labels_ok
from sandbox.gke import standard
from sandbox.kube.control_plane import ControlPlanes

Cluster = container_v1.Cluster.pb()
Operation = container_v1.Operation.pb()
CStatus = Cluster.Status
PoolStatus = container_v1.NodePool.pb().Status
OpStatus = Operation.Status
OpType = Operation.Type
Channel = container_v1.ReleaseChannel.pb().Channel

NAME_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?")
# Zones as GKE names them: the region, a hyphen, a letter.
ZONES = frozenset(f"{r}-{z}" for r in REGIONS for z in "abcdf")
MASTER_VERSION = "1.34.1-gke.1829001"
SERVICE = "container.googleapis.com"


def _rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StoredCluster:
    pb: Message
    # The operation running on the cluster now, if any (its full name).
    busy_with: str = ""


@dataclass
class ContainerStore:
    clusters: dict[str, StoredCluster] = field(default_factory=dict)
    operations: dict[str, Message] = field(default_factory=dict)

    def clear(self) -> None:
        self.clusters.clear()
        self.operations.clear()


def _store(call: ApiCall) -> ContainerStore:
    return call.state.store(ContainerStore)


def cluster_spec(store: ContainerStore, name: str) -> Message | None:
    """What the cluster's Kubernetes API reads of it: its Cluster, None once deleted."""
    stored = store.clusters.get(name)
    return stored.pb if stored is not None else None


def _op_id() -> str:
    return f"operation-{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}"


def get_stored(call: ApiCall, name: str) -> StoredCluster:
    stored = _store(call).clusters.get(name)
    if stored is None:
        raise errors.not_found(f"Not found: {name}.")
    return stored


def refuse_if_busy(stored: StoredCluster, name: str) -> None:
    if stored.busy_with:
        op_id = stored.busy_with.rsplit("/", 1)[-1]
        raise errors.ApiError(
            "FAILED_PRECONDITION",
            f"Operation {op_id} is currently operating on cluster {name.rsplit('/', 1)[-1]}. "
            "Please wait and try again once it is done.",
        )


def _validate_new(cluster: Message, project: str, location: str) -> None:
    if not NAME_RE.fullmatch(cluster.name):
        raise errors.invalid(
            f'Invalid value for field "cluster.name": "{cluster.name}". Must be a match of regex '
            '"(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)" (only alphanumerics and "-" allowed, '
            "must start with a letter and end with an alphanumeric, and must be no longer "
            "than 40 characters).",
            "cluster.name",
        )
    labels_ok(cluster.resource_labels, "cluster.resource_labels")
    standard.check_ip_allocation(cluster)
    if cluster.autopilot.enabled:
        if location in ZONES:
            raise errors.invalid(
                "Autopilot clusters must be regional clusters.", "cluster.autopilot.enabled"
            )
        if cluster.initial_node_count or cluster.HasField("node_config"):
            raise errors.invalid(
                "initial_node_count and node_config cannot be set on an Autopilot cluster: "
                "GKE manages its nodes.",
                "cluster.node_config",
            )
        _autopilot_pools_ok(cluster)
    else:
        standard.validate(cluster, project, location)


def _autopilot_pools_ok(cluster: Message) -> None:
    """gcloud's `create-auto` sends a `default-pool` carrying only the nodes' identity
    (`--scopes`, `--service-account`), which GKE accepts; any other node setting is
    Autopilot's to make ("GKE Autopilot clusters do not recognize parameters in
    NodeConfig. Use AutoprovisioningNodePoolDefaults instead.",
    https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeConfig;
    https://cloud.google.com/sdk/gcloud/reference/container/clusters/create-auto)."""
    identity = {"oauth_scopes", "service_account"}
    for pool in cluster.node_pools:
        set_fields = {f.name for f, _ in pool.config.ListFields()}
        if len(cluster.node_pools) > 1 or not set_fields <= identity or len(pool.locations):
            raise errors.invalid(
                "Autopilot clusters do not recognize node pool settings other than the "
                "nodes' service account and OAuth scopes: GKE manages their nodes.",
                "cluster.node_pools",
            )


# The ranges GKE picks for a cluster that names none (the same for every sandbox cluster).
PODS_CIDR = "10.52.0.0/14"
SERVICES_CIDR = "34.118.224.0/20"


def _fill_in(cluster: Message, name: str, location: str) -> None:
    """The fields GKE fills in on a cluster it creates, as `clusters describe` shows them
    (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#Cluster)."""
    project = name.split("/")[1]
    zones = list(cluster.locations) or standard.zones_of(location)
    del cluster.locations[:]
    cluster.locations.extend(zones)
    cluster.current_node_version = MASTER_VERSION
    cluster.network = cluster.network or "default"
    cluster.subnetwork = cluster.subnetwork or "default"
    cluster.network_config.network = f"projects/{project}/global/networks/{cluster.network}"
    cluster.network_config.subnetwork = (
        f"projects/{project}/regions/{standard.region_of(location)}/subnetworks/"
        f"{cluster.subnetwork}"
    )
    # VPC-native unless routes were asked for (sandbox/gke/standard.py).
    # The cluster's own (deprecated) range fields report the policy's.
    policy = cluster.ip_allocation_policy
    pods = standard.cidr(policy.cluster_ipv4_cidr_block or cluster.cluster_ipv4_cidr, PODS_CIDR)
    services = standard.cidr(policy.services_ipv4_cidr_block, SERVICES_CIDR)
    if not policy.use_routes:
        policy.use_ip_aliases = True
        policy.cluster_ipv4_cidr_block = pods
        policy.services_ipv4_cidr_block = services
        policy.stack_type = policy.stack_type or container_v1.StackType.IPV4
    cluster.cluster_ipv4_cidr = pods
    cluster.services_ipv4_cidr = services
    cluster.logging_service = cluster.logging_service or "logging.googleapis.com/kubernetes"
    cluster.monitoring_service = (
        cluster.monitoring_service or "monitoring.googleapis.com/kubernetes"
    )
    for pool in cluster.node_pools:
        standard.fill_pool(pool, name, zones, MASTER_VERSION)
        pool.status = PoolStatus.PROVISIONING
    if len(cluster.node_pools):
        # The deprecated cluster-level node_config mirrors the first pool's.
        cluster.node_config.CopyFrom(cluster.node_pools[0].config)
    cluster.current_node_count = node_count(cluster)


def node_count(cluster: Message) -> int:
    """`currentNodeCount`: a Standard cluster's pools' nodes (initial count per zone)."""
    if cluster.autopilot.enabled:
        return 0
    return sum(p.initial_node_count * max(1, len(p.locations)) for p in cluster.node_pools)


def _new_cluster(call: ApiCall, parent: str, cluster: Message) -> Message:
    project = call.state.config.project
    location = parent.rsplit("/", 1)[-1]
    name = f"{parent}/clusters/{cluster.name}"
    cluster.id = uuid.uuid4().hex
    cluster.location = location
    cluster.zone = location
    cluster.self_link = f"https://{SERVICE}/v1/{name}"
    cluster.status = CStatus.PROVISIONING
    cluster.create_time = _rfc3339()
    cluster.current_master_version = MASTER_VERSION
    cluster.initial_cluster_version = MASTER_VERSION
    if cluster.autopilot.enabled:
        # Autopilot: Workload Identity always on.
        cluster.workload_identity_config.workload_pool = f"{project}.svc.id.goog"
    else:
        standard.add_default_pool(cluster, location)
    _fill_in(cluster, name, location)
    # New clusters are enrolled in the Regular channel unless told otherwise
    # (https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels).
    if cluster.release_channel.channel == Channel.UNSPECIFIED:
        cluster.release_channel.channel = Channel.REGULAR
    return cluster


def new_operation(
    call: ApiCall, parent: str, target: str, op_type: int, done: Any, failed: Any
) -> Message:
    """A container_v1 Operation on `target`; `done` or `failed` runs when it finishes."""
    op_id = _op_id()
    full = f"{parent}/operations/{op_id}"
    op = Operation(
        name=op_id,
        operation_type=op_type,
        status=OpStatus.RUNNING,
        self_link=f"https://{SERVICE}/v1/{full}",
        target_link=f"https://{SERVICE}/v1/{target}",
        location=parent.rsplit("/", 1)[-1],
        zone=parent.rsplit("/", 1)[-1],
        start_time=_rfc3339(),
    )
    _store(call).operations[full] = op

    def finish() -> Message:
        done()
        op.status = OpStatus.DONE
        op.end_time = _rfc3339()
        return empty_pb2.Empty()

    def on_error(code: int, message: str) -> None:
        failed()
        op.status = OpStatus.DONE
        op.end_time = _rfc3339()
        op.error.code = code
        op.error.message = message
        op.status_message = message

    # The shared store times it and applies `operation_error` faults; this message is
    # what container_v1 callers see.
    call.new_operation(parent, empty_pb2.Empty, finish, on_error=on_error, op_id=op_id)
    return op


def create_cluster(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    request = call.body(container_v1.CreateClusterRequest.pb()())
    if request.project_id or request.zone:
        raise errors.invalid("project_id and zone are deprecated: use parent.", "project_id")
    cluster = request.cluster
    _validate_new(cluster, call.state.config.project, parent.rsplit("/", 1)[-1])
    name = f"{parent}/clusters/{cluster.name}"
    store = _store(call)
    if name in store.clusters:
        raise errors.ApiError("ALREADY_EXISTS", f"Already exists: {name}.")
    stored = StoredCluster(_new_cluster(call, parent, cluster))
    store.clusters[name] = stored

    def running() -> None:
        plane = call.state.store(ControlPlanes).start(name, partial(cluster_spec, store, name))
        stored.pb.status = CStatus.RUNNING
        for pool in stored.pb.node_pools:
            pool.status = PoolStatus.RUNNING
        stored.pb.endpoint = plane.endpoint
        stored.pb.master_auth.cluster_ca_certificate = plane.tls.ca_base64
        stored.busy_with = ""

    def failed() -> None:
        stored.pb.status = CStatus.ERROR
        stored.pb.status_message = "Cluster creation failed."
        stored.busy_with = ""

    op = new_operation(call, parent, name, OpType.CREATE_CLUSTER, running, failed)
    stored.busy_with = f"{parent}/operations/{op.name}"
    return op


def get_cluster(call: ApiCall) -> Message:
    return get_stored(call, call.fields["name"]).pb


def list_clusters(call: ApiCall) -> Message:
    """`locations/-` lists every location's clusters (gcloud's `clusters list`)."""
    parent = call.fields["parent"]
    reply = container_v1.ListClustersResponse.pb()()
    for name, stored in sorted(_store(call).clusters.items()):
        if parent.endswith("/locations/-") or name.startswith(f"{parent}/clusters/"):
            reply.clusters.add().CopyFrom(stored.pb)
    return reply


def delete_cluster(call: ApiCall) -> Message:
    name = call.fields["name"]
    stored = get_stored(call, name)
    refuse_if_busy(stored, name)
    store = _store(call)
    previous = stored.pb.status
    stored.pb.status = CStatus.STOPPING

    def gone() -> None:
        call.state.store(ControlPlanes).stop(name)
        store.clusters.pop(name, None)

    def failed() -> None:
        stored.pb.status = previous
        stored.busy_with = ""

    parent = name.split("/clusters/", 1)[0]
    op = new_operation(call, parent, name, OpType.DELETE_CLUSTER, gone, failed)
    stored.busy_with = f"{parent}/operations/{op.name}"
    return op


def get_operation(call: ApiCall) -> Message:
    name = call.fields["name"]
    op = _store(call).operations.get(name)
    if op is None:
        raise errors.not_found(f"Not found: {name}.")
    return op


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    locs = REGIONS | ZONES
    clusters = "/v1/{parent=projects/*/locations/*}/clusters"
    name = "/v1/{name=projects/*/locations/*/clusters/*}"

    def r(method: str, template: str, handler: Handler, request: Any, perm: str) -> Route:
        body = "*" if method == "POST" else None
        return Route(method, template, handler, request.pb(), perm, SERVICE, locs, body=body)

    operation = r(
        "GET",
        "/v1/{name=projects/*/locations/*/operations/*}",
        get_operation,
        container_v1.GetOperationRequest,
        "container.operations.get",
    )
    # Other APIs' v1 operations share this path; GKE's ids start with "operation-".
    operation.locations = REGIONS | ZONES | MULTI_REGIONS | {"global"}
    operation.regex = re.compile(
        r"/v1/(?P<f0>projects/[^/]+/locations/[^/]+/operations/operation-[^/]+)$"
    )
    listing = r(
        "GET", clusters, list_clusters, container_v1.ListClustersRequest, "container.clusters.list"
    )
    listing.locations = locs | {"-"}  # "-": all locations
    return [
        r(
            "POST",
            clusters,
            create_cluster,
            container_v1.CreateClusterRequest,
            "container.clusters.create",
        ),
        r("GET", name, get_cluster, container_v1.GetClusterRequest, "container.clusters.get"),
        listing,
        r(
            "DELETE",
            name,
            delete_cluster,
            container_v1.DeleteClusterRequest,
            "container.clusters.delete",
        ),
        operation,
        *_node_pool_routes(r),
    ]


def _node_pool_routes(r: Any) -> list[Route]:
    from sandbox.gke import node_pools as pools

    parent = "/v1/{parent=projects/*/locations/*/clusters/*}/nodePools"
    name = "/v1/{name=projects/*/locations/*/clusters/*/nodePools/*}"
    return [
        r(
            "POST",
            parent,
            pools.create_node_pool,
            container_v1.CreateNodePoolRequest,
            "container.clusters.update",
        ),
        r(
            "GET",
            parent,
            pools.list_node_pools,
            container_v1.ListNodePoolsRequest,
            "container.clusters.get",
        ),
        r(
            "GET",
            name,
            pools.get_node_pool,
            container_v1.GetNodePoolRequest,
            "container.clusters.get",
        ),
        r(
            "DELETE",
            name,
            pools.delete_node_pool,
            container_v1.DeleteNodePoolRequest,
            "container.clusters.update",
        ),
    ]
