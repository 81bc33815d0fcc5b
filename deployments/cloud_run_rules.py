"""Cloud Run's rules for a GPU instance and its scaling, shared by every Cloud Run target."""

from typing import Any

from deployments.catalog import CLOUD_RUN_GPU_REGIONS, GPU_TYPES

FieldErrors = dict[str, list[str]]

MAX_TIMEOUT_SECONDS = 3600  # Cloud Run's ceiling for a request
MAX_CONCURRENCY = 1000


def cloud_run_instance_errors(spec: Any) -> FieldErrors:
    """Cloud Run's rules for one GPU instance and its scaling, for any Cloud Run target."""
    errors: FieldErrors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    gpu = GPU_TYPES[spec.gpu_type]
    if spec.region not in CLOUD_RUN_GPU_REGIONS[spec.gpu_type]:
        offered = ", ".join(CLOUD_RUN_GPU_REGIONS[spec.gpu_type])
        add("region", f"Cloud Run offers {gpu.label} only in {offered}.")
    if spec.gpu_count != 1:
        add(
            "gpu_count",
            "Cloud Run attaches exactly one GPU to an instance; raise max instances to "
            "serve more traffic.",
        )
    if spec.cpu < gpu.min_cpu:
        add("cpu", f"An instance with an {gpu.label} needs at least {gpu.min_cpu} CPUs.")
    if spec.memory_gib < gpu.min_memory_gib:
        add(
            "memory_gib",
            f"An instance with an {gpu.label} needs at least {gpu.min_memory_gib} GiB of memory.",
        )
    if spec.min_instances < 0:
        add("min_instances", "Min instances cannot be negative.")
    if spec.max_instances < 1:
        add("max_instances", "Max instances must be at least 1.")
    elif spec.min_instances > spec.max_instances:
        add("min_instances", "Min instances cannot exceed max instances.")
    if not 1 <= spec.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        add("timeout_seconds", f"The timeout must be 1 to {MAX_TIMEOUT_SECONDS} seconds.")
    return errors
