"""Node pools of a sandbox GKE Standard cluster: create, get, delete, each with its operation.

https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters.nodePools
As strict as GKE where Hangar can trip:
- the cluster must be RUNNING and Standard (Autopilot manages its own nodes), and idle:
  GKE runs one operation per cluster at a time, so a node pool asked for while the
  cluster is still being created (or another pool is) fails with FAILED_PRECONDITION
  (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/troubleshoot-cluster-operations);
- a pool name is a lowercase letter, then up to 39 lowercase letters, digits or hyphens;
- an accelerator-optimized machine carries a fixed set of GPUs (a3-highgpu-2g: two H100s,
  https://cloud.google.com/compute/docs/accelerator-optimized-machines#a3-vms): the
  accelerators asked for must be those; Spot and Flex-start exclude each other
  (https://cloud.google.com/kubernetes-engine/docs/concepts/dws);
- `GKE_METADATA` (Workload Identity on the nodes) needs the cluster's workload pool;
- node locations are zones of the cluster's region; by default the cluster's own.
"""

from __future__ import annotations

import re

from google.cloud import container_v1
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.routing import ApiCall
from sandbox.gke import clusters, standard
from sandbox.kube.computeclass import GPUS_OF_MACHINE

NAME_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?")
PoolStatus = container_v1.NodePool.pb().Status
Mode = container_v1.WorkloadMetadataConfig.pb().Mode


def _pool(stored: clusters.StoredCluster, name: str) -> Message | None:
    return next((p for p in stored.pb.node_pools if p.name == name), None)


def _validate(cluster: Message, pool: Message, location: str) -> None:
    if not NAME_RE.fullmatch(pool.name):
        raise errors.invalid(
            f'Invalid value for field "node_pool.name": "{pool.name}". Must be a match of '
            'regex "(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)".',
            "node_pool.name",
        )
    if pool.initial_node_count < 0:
        raise errors.invalid("node_pool.initial_node_count must be zero or more.", "node_pool")
    scaling = pool.autoscaling
    if scaling.enabled and scaling.min_node_count > scaling.max_node_count:
        raise errors.invalid(
            "node_pool.autoscaling.min_node_count must not exceed max_node_count.",
            "node_pool.autoscaling",
        )
    config = pool.config
    attached = GPUS_OF_MACHINE.get(config.machine_type)
    for accel in config.accelerators:
        if attached and (accel.accelerator_type, accel.accelerator_count) != attached:
            raise errors.invalid(
                f"Accelerator {accel.accelerator_type} x {accel.accelerator_count} does not "
                f"match machine type {config.machine_type}, which comes with "
                f"{attached[1]} x {attached[0]}.",
                "node_pool.config.accelerators",
            )
    if config.spot and config.flex_start:
        raise errors.invalid(
            "node_pool.config.spot and node_pool.config.flex_start cannot both be set.",
            "node_pool.config",
        )
    if (
        config.workload_metadata_config.mode == Mode.GKE_METADATA
        and not cluster.workload_identity_config.workload_pool
    ):
        raise errors.invalid(
            "GKE_METADATA needs Workload Identity on the cluster "
            "(cluster.workload_identity_config.workload_pool).",
            "node_pool.config.workload_metadata_config",
        )
    standard.check_zones(pool.locations, location, "node_pool.locations")


def _running_standard(stored: clusters.StoredCluster, name: str) -> None:
    clusters.refuse_if_busy(stored, name)
    if stored.pb.autopilot.enabled:
        raise errors.invalid(
            "Node pools cannot be managed on an Autopilot cluster: GKE manages its nodes.",
            "node_pool",
        )
    if stored.pb.status != clusters.CStatus.RUNNING:
        raise errors.ApiError(
            "FAILED_PRECONDITION",
            f"Cluster {name.rsplit('/', 1)[-1]} is not running "
            f"({clusters.CStatus.Name(stored.pb.status)}).",
        )


def create_node_pool(call: ApiCall) -> Message:
    parent = call.fields["parent"]  # the cluster
    request = call.body(container_v1.CreateNodePoolRequest.pb()())
    if request.project_id or request.zone or request.cluster_id:
        raise errors.invalid("project_id, zone and cluster_id are deprecated: use parent.", "zone")
    stored = clusters.get_stored(call, parent)
    _running_standard(stored, parent)
    pool = request.node_pool
    location = parent.split("/")[3]
    _validate(stored.pb, pool, location)
    name = f"{parent}/nodePools/{pool.name}"
    if _pool(stored, pool.name) is not None:
        raise errors.ApiError("ALREADY_EXISTS", f"Already exists: {name}.")
    # By default a pool's nodes are in the cluster's node locations.
    standard.fill_pool(
        pool,
        parent,
        list(stored.pb.locations) or standard.zones_of(location),
        stored.pb.current_master_version,
    )
    pool.status = PoolStatus.PROVISIONING
    added = stored.pb.node_pools.add()
    added.CopyFrom(pool)

    def done() -> None:
        found = _pool(stored, pool.name)
        if found is not None:
            found.status = PoolStatus.RUNNING
        stored.pb.current_node_count = clusters.node_count(stored.pb)
        stored.busy_with = ""

    def failed() -> None:
        _drop(stored, pool.name)
        stored.busy_with = ""

    cluster_parent = parent.split("/clusters/", 1)[0]
    op = clusters.new_operation(
        call, cluster_parent, name, clusters.OpType.CREATE_NODE_POOL, done, failed
    )
    stored.busy_with = f"{cluster_parent}/operations/{op.name}"
    return op


def _drop(stored: clusters.StoredCluster, name: str) -> None:
    kept = [p for p in stored.pb.node_pools if p.name != name]
    del stored.pb.node_pools[:]
    stored.pb.node_pools.extend(kept)


def list_node_pools(call: ApiCall) -> Message:
    reply = container_v1.ListNodePoolsResponse.pb()()
    reply.node_pools.extend(clusters.get_stored(call, call.fields["parent"]).pb.node_pools)
    return reply


def get_node_pool(call: ApiCall) -> Message:
    name = call.fields["name"]
    stored = clusters.get_stored(call, name.split("/nodePools/", 1)[0])
    found = _pool(stored, name.rsplit("/", 1)[-1])
    if found is None:
        raise errors.not_found(f"Not found: {name}.")
    return found


def delete_node_pool(call: ApiCall) -> Message:
    name = call.fields["name"]
    cluster = name.split("/nodePools/", 1)[0]
    stored = clusters.get_stored(call, cluster)
    found = _pool(stored, name.rsplit("/", 1)[-1])
    if found is None:
        raise errors.not_found(f"Not found: {name}.")
    _running_standard(stored, cluster)
    previous = found.status
    found.status = PoolStatus.STOPPING

    def gone() -> None:
        _drop(stored, name.rsplit("/", 1)[-1])
        stored.pb.current_node_count = clusters.node_count(stored.pb)
        stored.busy_with = ""

    def failed() -> None:
        left = _pool(stored, name.rsplit("/", 1)[-1])
        if left is not None:
            left.status = previous
        stored.busy_with = ""

    cluster_parent = cluster.split("/clusters/", 1)[0]
    op = clusters.new_operation(
        call, cluster_parent, name, clusters.OpType.DELETE_NODE_POOL, gone, failed
    )
    stored.busy_with = f"{cluster_parent}/operations/{op.name}"
    return op
