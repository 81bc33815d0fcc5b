"""What every Cloud Run spec has in common beyond its fields: its GPU, the GPUs it holds,
and Cloud Run's instance rules before the target's own."""

from deployments.catalog import GPU_TYPES, GpuType
from deployments.targets.cloud_run.rules import cloud_run_instance_errors
from deployments.targets.fields import FieldErrors
from deployments.targets.spec import SpecBase


class CloudRunSpec(SpecBase):
    """Mixed into each Cloud Run target's spec dataclass (its fields from cloud_run.fields)."""

    cpu: int
    memory_gib: int
    min_instances: int
    max_instances: int
    concurrency: int
    timeout_seconds: int

    @property
    def gpu(self) -> GpuType:
        return GPU_TYPES[self.gpu_type]

    @property
    def gpus_held(self) -> int:
        """One GPU per instance, at most max instances of them: what quotas count."""
        return self.gpu_count * self.max_instances

    def rule_errors(self) -> FieldErrors:
        errors = cloud_run_instance_errors(self)
        for field, messages in self.engine_errors().items():
            errors.setdefault(field, []).extend(messages)
        return errors

    def engine_errors(self) -> FieldErrors:
        """The model server's own rules (Ollama's slots, vLLM's memory), for the target."""
        return {}
