"""What Google bills a seed 004 deployment, per hour: its GPU node pool's nodes around the
clock and their boot disks, the default pool a Standard cluster made with `--num-nodes=1`
keeps (one node per zone: three in a regional cluster) and its nodes' boot disks, and the
cluster fee (reference/gke.md 6, pricing.md).

The price table holds on-demand list prices. Spot and Flex-start nodes cost less, by an
amount the table does not hold yet: the estimate says so instead of guessing. A machine or
disk type the table has no price for (an admin's own table without the 2026-12-08 rows) is
named as unpriced rather than counted as free.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clusters.plans import DEFAULT_POOL_MACHINE
from deployments.pricing.estimator import HOURS_PER_MONTH, Estimate
from deployments.targets.gke.binding import region_of
from deployments.targets.gke.cost import boot_disk_hourly
from deployments.targets.gke_inference_gateway.node_pools import BOOT_DISK_GB, BOOT_DISK_TYPE

if TYPE_CHECKING:
    from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec

DEFAULT_POOL_NODES_PER_ZONE = 1  # the seed's --num-nodes=1
# The default pool's boot disks: the cluster request names none, so GKE gives each node
# 100 GB ("If unspecified, the default disk size is 100GB", NodeConfig.diskSizeGb,
# https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/NodeConfig) of
# pd-balanced ("By default, GKE uses balanced Persistent Disks in version 1.24 or later",
# https://cloud.google.com/kubernetes-engine/docs/how-to/custom-boot-disks).
DEFAULT_POOL_DISK_GB = 100
DEFAULT_POOL_DISK_TYPE = "pd-balanced"


def default_pool_nodes(location: str) -> int:
    """Nodes of the cluster's default pool: `--num-nodes` in each of the cluster's zones. A
    regional cluster replicates its nodes across three zones of its region (its default
    pool of gcloud's default three nodes "consists of nine nodes (three per zone) spread
    evenly across three zones",
    https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters); a zonal
    cluster's nodes are in its one zone."""
    return DEFAULT_POOL_NODES_PER_ZONE * (1 if region_of(location) != location else 3)


def _disks(
    prices: dict[str, Any], label: str, nodes: int, disk_type: str, size_gb: int
) -> tuple[str, Decimal] | str:
    """The line for `nodes` boot disks, or the warning that names them unpriced."""
    per_node = boot_disk_hourly(prices, disk_type, size_gb)
    what = f"{nodes} × {size_gb} GB {disk_type} boot disk ({label})"
    if per_node is None:
        return f"Boot disks not priced: {what}; the price table has no {disk_type} price."
    return what, per_node * nodes


def estimate(prices: dict[str, Any], spec: "GkeInferenceGatewaySpec", busy: Decimal) -> Estimate:
    gke = prices["gke"]
    machines = gke["machines_per_hour"]
    gpu_nodes = spec.nodes * len(spec.zones)
    lines: list[tuple[str, Decimal]] = []
    warnings: list[str] = []
    gpu_price = Decimal(machines[spec.machine_type]) * gpu_nodes
    lines.append((f"{gpu_nodes} × {spec.machine_type} GPU node (on-demand list)", gpu_price))
    if spec.spot or spec.flex_start:
        kind = "Spot" if spec.spot else "Flex-start"
        warnings.append(
            f"{kind} pricing: the GPU pool is bought as {kind}: Google bills less than the "
            "on-demand list price shown, and may reclaim Spot nodes."
        )
    pool = default_pool_nodes(spec.location)
    if DEFAULT_POOL_MACHINE in machines:
        lines.append(
            (
                f"{pool} × {DEFAULT_POOL_MACHINE} default pool node",
                Decimal(machines[DEFAULT_POOL_MACHINE]) * pool,
            )
        )
    else:
        warnings.append(
            f"Default pool not priced: the cluster's default pool ({pool} × "
            f"{DEFAULT_POOL_MACHINE}) runs too; the price "
            "table has no price for it, so it is not counted."
        )
    for disks in (
        _disks(prices, "GPU pool", gpu_nodes, BOOT_DISK_TYPE, BOOT_DISK_GB),
        _disks(prices, "default pool", pool, DEFAULT_POOL_DISK_TYPE, DEFAULT_POOL_DISK_GB),
    ):
        if isinstance(disks, str):
            warnings.append(disks)
        else:
            lines.append(disks)
    lines.append(("cluster management fee", Decimal(gke["cluster_fee_per_hour"])))
    hourly = sum((cost for _, cost in lines), Decimal(0))
    return Estimate(
        price_version=prices["version"],
        hourly_min=hourly,
        hourly_max=hourly,
        monthly=hourly * HOURS_PER_MONTH,
        busy_hours_per_day=Decimal(busy),
        lines=lines,
        unit="hour (nodes run whatever the traffic)",
        notes=gke.get("notes", ""),
        warnings=warnings,
    )
