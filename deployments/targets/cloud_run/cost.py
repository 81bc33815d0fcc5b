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
    spec: Any = None,
) -> TargetOption:
    """The row for this target: with `spec` (the target the form is filled in for), the
    form's own shape; without, the smallest Cloud Run GPU the model fits at the seed's CPU
    and memory for it (`sizes`: GPU → (vCPU, GiB)), one instance at most, scaled to zero."""
    if spec is None:
        fitting = [key for key in sizes if needed <= GPU_TYPES[key].memory_gib]
        gpu = GPU_TYPES[fitting[0] if fitting else list(sizes)[-1]]
        cpu, memory = sizes[gpu.key]
        gpus, low, high = 1, 0, 1
    else:
        gpu, cpu, memory = GPU_TYPES[spec.gpu_type], spec.cpu, spec.memory_gib
        gpus, low, high = spec.gpu_count, spec.min_instances, spec.max_instances
    fits = needed <= gpu.memory_gib * gpus
    cost = estimate_cloud_run(
        prices,
        gpu_type=gpu.key,
        gpu_count=gpus,
        cpu=cpu,
        memory_gib=memory,
        min_instances=low,
        max_instances=high,
        busy_hours_per_day=busy_hours_per_day,
    )
    return TargetOption(
        target=target,
        label=label,
        fits=fits,
        needed_gib=needed.quantize(Decimal("0.1")),
        available_gib=gpu.memory_gib * gpus,
        hardware=f"Cloud Run, {gpus} × {gpu.label}, {cpu} vCPU, {memory} GiB, "
        f"{low}–{high} instance{'' if high == 1 else 's'}",
        estimate=cost if fits else None,
        cold_start=cold_start,
        available_in_hangar=True,
    )


def scaling_summary(spec: Any) -> str:
    return f"{spec.min_instances}–{spec.max_instances} instances, concurrency {spec.concurrency}"
