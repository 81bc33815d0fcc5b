"""What Google bills a seed 004 deployment: its GPU node pool's nodes around the clock, the
default pool a Standard cluster made with `--num-nodes=1` keeps (one node per zone: three
in a regional cluster), and the cluster fee (reference/gke.md 6, pricing.md).

The price table holds on-demand list prices. Spot and Flex-start nodes cost less, by an
amount the table does not hold yet: the estimate says so instead of guessing. A machine
the table has no price for (GKE's default e2-medium, today) is named as unpriced rather
than counted as free.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clusters.plans import DEFAULT_POOL_MACHINE
from deployments.pricing.estimator import HOURS_PER_MONTH, Estimate
from deployments.targets.gke.binding import region_of

if TYPE_CHECKING:
    from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec

DEFAULT_POOL_NODES_PER_ZONE = 1  # the seed's --num-nodes=1


def default_pool_nodes(location: str) -> int:
    """Nodes of the cluster's default pool: per zone, three zones when regional."""
    return DEFAULT_POOL_NODES_PER_ZONE * (1 if region_of(location) != location else 3)


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
