"""What every target's spec dataclass does the same way: its fields, its round trip
through a Deployment row, and the GPUs it holds."""

from dataclasses import asdict, fields
from typing import Any, ClassVar, Self

from deployments.catalog import GPU_TYPES, GpuType


class SpecBase:
    """Mixed into each target's frozen dataclass (CloudRunOllamaSpec, CloudRunVllmSpec)."""

    # Fields kept in Deployment columns rather than in Deployment.spec.
    COLUMN_FIELDS: ClassVar[tuple[str, ...]] = ("model", "region", "gpu_type", "gpu_count")

    gpu_type: str
    gpu_count: int
    max_instances: int

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def normalise(cls, values: dict[str, Any]) -> dict[str, Any]:
        """A target's chance to put values in their stored form; none by default."""
        return values

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Self:
        picked = {k: values[k] for k in cls.field_names() if k in values}
        return cls(**cls.normalise(picked))

    @classmethod
    def from_deployment(cls, deployment: Any) -> Self:
        columns = {name: getattr(deployment, name) for name in cls.COLUMN_FIELDS}
        return cls.from_values({**deployment.spec, **columns})

    def spec_json(self) -> dict[str, Any]:
        """The part stored in Deployment.spec."""
        return {k: v for k, v in asdict(self).items() if k not in self.COLUMN_FIELDS}  # type: ignore[call-overload]

    @property
    def gpu(self) -> GpuType:
        return GPU_TYPES[self.gpu_type]

    @property
    def gpus_held(self) -> int:
        """GPUs the deployment holds at its largest (Cloud Run: per instance × max instances):
        what quotas count."""
        return self.gpu_count * self.max_instances
