"""A GKE Standard cluster as container_v1 takes it: the rules GKE applies to the options
seed 004 uses, and the default node pool it makes.

- Workload Identity's pool is the project's: `PROJECT_ID.svc.id.goog`
  (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity).
- The Gateway API "is supported on VPC-native clusters only" and needs the
  HttpLoadBalancing add-on (https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways).
  A new cluster is VPC-native unless it asks for routes (`ip_allocation_policy.use_routes`):
  "By default, GKE creates VPC-native clusters"
  (https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips), so gcloud's
  `clusters create` without `--enable-ip-alias` (seed 004) is VPC-native.
- Monitoring components: SYSTEM_COMPONENTS must be among them when any is set, and DCGM
  metrics come through Managed Service for Prometheus, which must be on
  (https://cloud.google.com/kubernetes-engine/docs/how-to/configure-metrics,
  https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics).
- `initial_node_count` (`--num-nodes`) and `node_pools` exclude each other; the count
  makes `default-pool` with that many nodes in each of the cluster's zones, three for a
  regional cluster (https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters#pricing).
- Node locations are zones of the cluster's region.
- A pool's nodes as GKE fills them in when the request leaves them out (NodeConfig in
  https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeConfig): machine
  type e2-medium, a 100 GB boot disk, of type pd-balanced
  (https://cloud.google.com/kubernetes-engine/docs/how-to/custom-boot-disks), Container-
  Optimized OS with containerd, and the Compute Engine default service account
  (`serviceAccount`: "if no Service Account is specified, the "default" service account is
  used"). Scopes are the request's own, kept as sent: gcloud sends its six defaults
  (https://cloud.google.com/kubernetes-engine/docs/how-to/access-scopes); the API itself,
  when a request names none, adds only what logging and monitoring need ("If unspecified,
  no scopes are added, unless Cloud Logging or Cloud Monitoring are enabled, in which case
  their required scopes will be added", NodeConfig.oauthScopes): without
  devstorage.read_only such nodes cannot pull private images.
"""

from __future__ import annotations

import hashlib

from google.cloud import container_v1
from google.protobuf.message import Message

from sandbox.core import errors

Channel = container_v1.GatewayAPIConfig.pb().Channel
Component = container_v1.MonitoringComponentConfig.pb().Component
DEFAULT_MACHINE = "e2-medium"  # what GKE gives a node pool that names none
DEFAULT_DISK_GB = 100
DEFAULT_DISK_TYPE = "pd-balanced"
# What the API adds to a pool that names no scopes, with Cloud Logging and Monitoring on
# (GKE's default): their write scopes only (NodeConfig.oauthScopes, above).
API_DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
)
PoolStatus = container_v1.NodePool.pb().Status


def region_of(location: str) -> str:
    parts = location.split("-")
    return "-".join(parts[:2]) if len(parts) > 2 else location


def zones_of(location: str) -> list[str]:
    """The cluster's default node zones: its own (zonal), or three of its region."""
    if region_of(location) != location:
        return [location]
    return [f"{location}-{z}" for z in "abc"]


def check_zones(zones: object, location: str, field: str) -> None:
    region = region_of(location)
    for zone in zones:  # type: ignore[attr-defined]
        if region_of(str(zone)) != region or str(zone) == region:
            raise errors.invalid(
                f'Invalid value for field "{field}": "{zone}": node locations must be zones '
                f"of the cluster's region {region}.",
                field,
            )


def check_ip_allocation(cluster: Message) -> None:
    """IPAllocationPolicy's own rules, any cluster
    (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#IPAllocationPolicy):
    useIpAliases "cannot be true if use_routes is true", and with clusterIpv4CidrBlock set
    "cluster.cluster_ipv4_cidr must be left blank"."""
    policy = cluster.ip_allocation_policy
    if policy.use_ip_aliases and policy.use_routes:
        raise errors.invalid(
            "use_ip_aliases cannot be true if use_routes is true.",
            "cluster.ip_allocation_policy.use_ip_aliases",
        )
    if policy.cluster_ipv4_cidr_block and cluster.cluster_ipv4_cidr:
        raise errors.invalid(
            "cluster.cluster_ipv4_cidr must be left blank when "
            "cluster.ip_allocation_policy.cluster_ipv4_cidr_block is set.",
            "cluster.cluster_ipv4_cidr",
        )


def cidr(requested: str, default: str) -> str:
    """A range as GKE reports it: the one asked for, one of the asked-for size (`/20`), or
    one of the default size ("Set to blank to have a range chosen with the default size")."""
    if not requested:
        return default
    if requested.startswith("/"):
        return default.split("/", 1)[0] + requested
    return requested


def validate(cluster: Message, project: str, location: str) -> None:
    """Refuse what GKE refuses in a Standard cluster's create request."""
    if len(cluster.node_pools) and cluster.initial_node_count:
        raise errors.invalid(
            "Cannot specify both cluster.initial_node_count and cluster.node_pools.",
            "cluster.initial_node_count",
        )
    if not len(cluster.node_pools) and cluster.initial_node_count <= 0:
        raise errors.invalid(
            "Cluster.initial_node_count must be greater than zero.", "cluster.initial_node_count"
        )
    pool = cluster.workload_identity_config.workload_pool
    if pool and pool != f"{project}.svc.id.goog":
        raise errors.invalid(
            f'Invalid value for field "cluster.workload_identity_config.workload_pool": '
            f'"{pool}": the workload pool must be "{project}.svc.id.goog".',
            "cluster.workload_identity_config.workload_pool",
        )
    gateway = cluster.network_config.gateway_api_config.channel
    if gateway in (Channel.CHANNEL_STANDARD, Channel.CHANNEL_EXPERIMENTAL):
        if cluster.ip_allocation_policy.use_routes:
            raise errors.invalid(
                "The Gateway API is supported on VPC-native clusters only: this cluster "
                "asks for routes (cluster.ip_allocation_policy.use_routes).",
                "cluster.network_config.gateway_api_config",
            )
        if cluster.addons_config.http_load_balancing.disabled:
            raise errors.invalid(
                "The Gateway API needs the HttpLoadBalancing add-on.",
                "cluster.addons_config.http_load_balancing",
            )
    components = set(cluster.monitoring_config.component_config.enable_components)
    if components and Component.SYSTEM_COMPONENTS not in components:
        raise errors.invalid(
            "SYSTEM_COMPONENTS must be enabled to enable other monitoring components.",
            "cluster.monitoring_config.component_config",
        )
    if (
        Component.DCGM in components
        and not cluster.monitoring_config.managed_prometheus_config.enabled
    ):
        raise errors.invalid(
            "DCGM metrics need Managed Service for Prometheus: set "
            "cluster.monitoring_config.managed_prometheus_config.enabled.",
            "cluster.monitoring_config.component_config",
        )
    check_zones(cluster.locations, location, "cluster.locations")


def add_default_pool(cluster: Message, location: str) -> None:
    """`--num-nodes=N`: GKE's `default-pool`, N nodes per zone."""
    if len(cluster.node_pools) or not cluster.initial_node_count:
        return
    pool = cluster.node_pools.add()
    pool.name = "default-pool"
    pool.initial_node_count = cluster.initial_node_count
    if cluster.HasField("node_config"):
        pool.config.CopyFrom(cluster.node_config)
    if not pool.config.machine_type:
        pool.config.machine_type = DEFAULT_MACHINE
    pool.locations.extend(list(cluster.locations) or zones_of(location))


def fill_pool(pool: Message, cluster_name: str, locations: list[str], version: str) -> None:
    """What GKE fills in on a node pool it creates (the request's own values kept)."""
    config = pool.config
    if not config.machine_type:
        config.machine_type = DEFAULT_MACHINE
    if not config.disk_size_gb:
        config.disk_size_gb = DEFAULT_DISK_GB
    if not config.disk_type:
        config.disk_type = DEFAULT_DISK_TYPE
    if not config.image_type:
        config.image_type = "COS_CONTAINERD"
    if not config.service_account:
        config.service_account = "default"
    if not len(config.oauth_scopes):
        config.oauth_scopes.extend(API_DEFAULT_SCOPES)
    if not len(pool.locations):
        pool.locations.extend(locations)
    pool.version = version
    pool.self_link = f"https://container.googleapis.com/v1/{cluster_name}/nodePools/{pool.name}"
    project = cluster_name.split("/")[1]
    del pool.instance_group_urls[:]
    pool.instance_group_urls.extend(
        f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}/"
        f"instanceGroupManagers/{instance_group(cluster_name, pool.name)}"
        for zone in pool.locations
    )
    # Routes-based pods get a /24 per node; VPC-native ones too by default (110 pods).
    if not pool.pod_ipv4_cidr_size:
        pool.pod_ipv4_cidr_size = 24
    if not pool.max_pods_constraint.max_pods_per_node:
        pool.max_pods_constraint.max_pods_per_node = 110


def instance_group(cluster_name: str, pool: str) -> str:
    """A pool's instance group as GKE names it, `gke-CLUSTER-POOL-HASH-grp`: both names cut
    to fit Compute Engine's 63 characters, and a hash of the whole ones so that clusters
    or pools sharing a prefix never share a group."""
    digest = hashlib.sha256(f"{cluster_name}/nodePools/{pool}".encode()).hexdigest()[:8]
    cluster = cluster_name.rsplit("/", 1)[-1]
    return f"gke-{cluster[:14].rstrip('-')}-{pool[:18].rstrip('-')}-{digest}-grp"
