"""What Google bills a Cloud Run GPU service, for any Cloud Run target: every second an
instance exists (instance-based billing), without zonal redundancy (seed 000's flag)."""

from decimal import Decimal
from typing import Any

from deployments.catalog import GPU_TYPES
from deployments.pricing.estimator import Estimate, estimate_cloud_run
from deployments.targets.base import TargetOption


def estimate(spec: Any, prices: dict[str, Any], busy_hours_per_day: Decimal) -> Estimate:
    return estimate_cloud_run(
        prices,
        gpu_type=spec.gpu_type,
        gpu_count=spec.gpu_count,
        cpu=spec.cpu,
        memory_gib=spec.memory_gib,
        min_instances=spec.min_instances,
        max_instances=spec.max_instances,
        busy_hours_per_day=busy_hours_per_day,
    )


def option(
    *,
    target: str,
    label: str,
    needed: Decimal,
    sizes: dict[str, tuple[int, int]],
    cold_start: str,
    prices: dict[str, Any],
    busy_hours_per_day: Decimal,
) -> TargetOption:
    """The smallest Cloud Run GPU the model fits, at the seed's CPU and memory for it
    (`sizes`: GPU → (vCPU, GiB)), one instance at most, scaled to zero when idle."""
    fitting = [key for key in sizes if needed <= GPU_TYPES[key].memory_gib]
    gpu = GPU_TYPES[fitting[0] if fitting else list(sizes)[-1]]
    cpu, memory = sizes[gpu.key]
    cost = estimate_cloud_run(
        prices,
        gpu_type=gpu.key,
        gpu_count=1,
        cpu=cpu,
        memory_gib=memory,
        min_instances=0,
        max_instances=1,
        busy_hours_per_day=busy_hours_per_day,
    )
    return TargetOption(
        target=target,
        label=label,
        fits=bool(fitting),
        needed_gib=needed.quantize(Decimal("0.1")),
        available_gib=gpu.memory_gib,
        hardware=f"Cloud Run, 1 × {gpu.label}, {cpu} vCPU, {memory} GiB, 0–1 instances",
        estimate=cost if fitting else None,
        cold_start=cold_start,
        available_in_hangar=True,
    )


def scaling_summary(spec: Any) -> str:
    return f"{spec.min_instances}–{spec.max_instances} instances, concurrency {spec.concurrency}"
