"""What Google bills a GKE GPU deployment: the whole node its ComputeClass provisions,
around the clock, plus the cluster's management fee (../shared/reference/pricing.md,
GKE). A node with more GPUs than the pod uses bills the idle ones too: the estimate says
what they cost and which machine holds the pod without them."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

from deployments.pricing.estimator import HOURS_PER_MONTH, Estimate, cents, estimate_gke
from deployments.pricing.money import usd
from deployments.targets.gke.machines import MACHINES, GpuMachine, h100s, right_sized


def machine_prices(prices: dict[str, Any]) -> dict[str, Any]:
    return dict(prices["gke"]["machines_per_hour"])


def node_hourly(prices: dict[str, Any], machine: GpuMachine) -> Decimal:
    return Decimal(machine_prices(prices)[machine.key])


def boot_disk_hourly(prices: dict[str, Any], disk_type: str, size_gb: int) -> Decimal | None:
    """One node's boot disk per hour: Compute Engine bills provisioned GB by the month
    (https://cloud.google.com/compute/disks-image-pricing), spread over the 730 hours the
    estimate's month has. None when the table has no price for the type."""
    per_gb_month = prices["gke"].get("boot_disk_gb_month", {}).get(disk_type)
    if per_gb_month is None:
        return None
    return Decimal(per_gb_month) * size_gb / HOURS_PER_MONTH


def idle_gpu_warning(prices: dict[str, Any], machine: GpuMachine, pod_gpus: int) -> str:
    """Empty when the node's GPUs are all the pod's; else what the idle ones cost and the
    machine that holds the pod without them."""
    idle = machine.gpus - pod_gpus
    if idle <= 0:
        return ""
    node = node_hourly(prices, machine)
    waste = node * idle / machine.gpus
    warning = (
        f"Idle GPUs billed: {machine.key} provisions {h100s(machine.gpus)} for a pod that "
        f"uses {pod_gpus}: Google bills the whole node ({usd(cents(node))}/h), so {idle} idle "
        f"{'GPU costs' if idle == 1 else 'GPUs cost'} about "
        f"{usd(cents(waste))}/h."
    )
    better = right_sized(pod_gpus, machine_prices(prices))
    if better is not None and better.gpus < machine.gpus:
        warning += (
            f" {better.key} ({better.gpus} × H100) holds this pod for "
            f"{usd(cents(node_hourly(prices, better)))}/h."
        )
        if better.maybe_not_on_demand:
            warning += (
                " Google may sell it only as Spot, Flex-start or a reservation: check "
                "that the region offers it on demand."
            )
    return warning


def estimate(
    prices: dict[str, Any], *, machine_type: str, pod_gpus: int, busy_hours_per_day: Decimal
) -> Estimate:
    """One node of `machine_type` (Autopilot's Accelerator class bills the node), whatever
    the pod requests."""
    machine = MACHINES[machine_type]
    priced = estimate_gke(
        prices,
        machine_type=machine.key,
        nodes=1,
        busy_hours_per_day=busy_hours_per_day,
        autopilot=True,
    )
    label = f"1 × {machine.key} node ({machine.gpus} × H100, billed whole)"
    lines = [(label, priced.lines[0][1]), *priced.lines[1:]]
    warning = idle_gpu_warning(prices, machine, pod_gpus)
    if not warning:
        return replace(priced, lines=lines)
    better = right_sized(pod_gpus, machine_prices(prices))
    suggested = {"machine_type": better.key} if better and better.gpus < machine.gpus else {}
    return replace(priced, lines=lines, warnings=[warning], suggested=suggested)
