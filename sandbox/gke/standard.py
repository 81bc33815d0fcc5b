"""A GKE Standard cluster as container_v1 takes it: the rules GKE applies to the options
seed 004 uses, and the default node pool it makes.

- Workload Identity's pool is the project's: `PROJECT_ID.svc.id.goog`
  (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity).
- The Gateway API "is supported on VPC-native clusters only" and needs the
  HttpLoadBalancing add-on (https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways).
- Monitoring components: SYSTEM_COMPONENTS must be among them when any is set, and DCGM
  metrics come through Managed Service for Prometheus, which must be on
  (https://cloud.google.com/kubernetes-engine/docs/how-to/configure-metrics,
  https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics).
- `initial_node_count` (`--num-nodes`) and `node_pools` exclude each other; the count
  makes `default-pool` with that many nodes in each of the cluster's zones, three for a
  regional cluster (https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters#pricing).
- Node locations are zones of the cluster's region.
"""

from __future__ import annotations

from google.cloud import container_v1
from google.protobuf.message import Message

from sandbox.core import errors

Channel = container_v1.GatewayAPIConfig.pb().Channel
Component = container_v1.MonitoringComponentConfig.pb().Component
DEFAULT_MACHINE = "e2-medium"  # what GKE gives a node pool that names none


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
        if not cluster.ip_allocation_policy.use_ip_aliases:
            raise errors.invalid(
                "The Gateway API is supported on VPC-native clusters only: set "
                "cluster.ip_allocation_policy.use_ip_aliases.",
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
    pool.status = container_v1.NodePool.Status.RUNNING
