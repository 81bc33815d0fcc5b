"""The estimate for a request, from the active price table: the one place that picks how."""

from decimal import Decimal
from typing import Any

from deployments.choices import Target
from deployments.pricing.estimator import Estimate, estimate_cloud_run
from deployments.services.prices import price_table_active

CLOUD_RUN_TARGETS = (Target.CLOUD_RUN_OLLAMA.value, Target.CLOUD_RUN_VLLM.value)


def estimate_for(
    *, target: str, spec: Any, busy_hours_per_day: Decimal, prices: dict[str, Any] | None = None
) -> Estimate:
    prices = prices or price_table_active().data
    if target in CLOUD_RUN_TARGETS:
        # Hangar deploys with --no-gpu-zonal-redundancy (seed 000), the cheaper GPU rate.
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
    raise NotImplementedError(f"No estimate for {target} yet.")
