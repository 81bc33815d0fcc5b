"""Cloud Run's rules for one GPU instance and its scaling, shared by every Cloud Run target.

The field bounds (deployments/targets/cloud_run/fields.py) have already been checked when
these run; what is left depends on more than one field: the GPU's regions and sizes.
"""

from typing import Any

from deployments.catalog import GPU_TYPES
from deployments.targets.fields import FieldErrors


def cloud_run_instance_errors(spec: Any) -> FieldErrors:
    errors: FieldErrors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    gpu = GPU_TYPES[spec.gpu_type]
    facts = gpu.cloud_run
    assert facts is not None  # noqa: S101 - the gpu_type field offers only Cloud Run GPUs
    if spec.region not in facts.regions:
        add("region", f"Cloud Run offers {gpu.label} only in {', '.join(facts.regions)}.")
    if spec.cpu < facts.min_cpu:
        add("cpu", f"An instance with an {gpu.label} needs at least {facts.min_cpu} CPUs.")
    elif spec.cpu > facts.max_cpu:
        add("cpu", f"An instance with an {gpu.label} takes at most {facts.max_cpu} CPUs.")
    if spec.memory_gib < facts.min_memory_gib:
        add(
            "memory_gib",
            f"An instance with an {gpu.label} needs at least {facts.min_memory_gib} GiB of memory.",
        )
    elif spec.memory_gib > facts.max_memory_gib:
        add(
            "memory_gib",
            f"An instance with an {gpu.label} takes at most {facts.max_memory_gib} GiB of memory.",
        )
    if spec.min_instances > spec.max_instances:
        add("min_instances", "Min instances cannot exceed max instances.")
    return errors
