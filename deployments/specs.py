"""What a deployment asks for, per target, and the rules that decide whether it can run.

The form, the API and the plan all read a spec from here, so a rule lives once.
"""

import re
from dataclasses import dataclass
from typing import Any, Protocol

from deployments.catalog import GPU_TYPES, MODELS, CatalogModel
from deployments.choices import Target
from deployments.cloud_run_rules import MAX_CONCURRENCY, FieldErrors, cloud_run_instance_errors
from deployments.spec_base import SpecBase
from deployments.specs_vllm import CloudRunVllmSpec

SLUG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


def slug_errors(slug: str) -> list[str]:
    if not SLUG_RE.match(slug):
        return [
            "Use 1–40 lowercase letters, digits and hyphens, starting with a letter and not "
            "ending with a hyphen: it names the Cloud Run service and the image."
        ]
    return []


@dataclass(frozen=True)
class CloudRunOllamaSpec(SpecBase):
    """Seed 000's `gcloud run deploy` flags; the defaults are the seed's values."""

    model: str
    region: str = "europe-west1"
    gpu_type: str = "nvidia-l4"
    gpu_count: int = 1
    cpu: int = 8
    memory_gib: int = 32
    ollama_parallel: int = 4
    concurrency: int = 4
    min_instances: int = 0
    max_instances: int = 1
    timeout_seconds: int = 600

    @property
    def catalog_model(self) -> CatalogModel:
        return MODELS[self.model]

    def errors(self) -> FieldErrors:
        """Every reason this spec cannot run, by field; empty when it can."""
        errors: FieldErrors = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.model not in MODELS:
            add("model", f"Unknown model {self.model!r}; pick one from the catalog.")
        if self.gpu_type not in GPU_TYPES:
            add("gpu_type", f"Cloud Run offers no GPU called {self.gpu_type!r}.")
        if errors:
            return errors

        errors.update(cloud_run_instance_errors(self))
        if self.ollama_parallel < 1:
            add("ollama_parallel", "Ollama needs at least one parallel slot.")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            add("concurrency", f"Concurrency must be between 1 and {MAX_CONCURRENCY}.")
        elif self.ollama_parallel >= 1 and self.concurrency > 2 * self.ollama_parallel:
            add(
                "concurrency",
                f"Concurrency {self.concurrency} is more than twice the {self.ollama_parallel} "
                "Ollama parallel slots. Extra requests queue inside Ollama, so latency rises and "
                "Cloud Run does not scale out for them (seed 000). Use at most "
                f"{2 * self.ollama_parallel}; equal to the slots gives the best latency.",
            )

        if self.ollama_parallel >= 1:
            needed = self.catalog_model.vram_needed_gib(self.ollama_parallel)
            if needed > self.gpu.memory_gib:
                add(
                    "model",
                    f"{self.catalog_model.ollama_tag} with {self.ollama_parallel} parallel slots "
                    f"needs about {needed} GiB of GPU memory; an {self.gpu.label} has "
                    f"{self.gpu.memory_gib} GiB. Use fewer parallel slots, a smaller model or a "
                    "larger GPU.",
                )
        return errors


class DeploymentSpec(Protocol):
    """What every target's spec offers the code that is not about one target."""

    # Read-only, as the frozen dataclasses provide them.
    @property
    def model(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def gpu_type(self) -> str: ...
    @property
    def gpu_count(self) -> int: ...
    @property
    def cpu(self) -> int: ...
    @property
    def memory_gib(self) -> int: ...
    @property
    def min_instances(self) -> int: ...
    @property
    def max_instances(self) -> int: ...
    @property
    def gpus_held(self) -> int: ...
    @classmethod
    def field_names(cls) -> list[str]: ...
    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Any: ...
    @classmethod
    def from_deployment(cls, deployment: Any) -> Any: ...
    def spec_json(self) -> dict[str, Any]: ...
    def errors(self) -> FieldErrors: ...


# One spec class per target; every caller goes through these two functions so that a
# new target is one more entry here (and a plan module), not a new branch elsewhere.
SPEC_CLASSES: dict[str, type[DeploymentSpec]] = {
    Target.CLOUD_RUN_OLLAMA.value: CloudRunOllamaSpec,
    Target.CLOUD_RUN_VLLM.value: CloudRunVllmSpec,
}


def spec_class_for(target: str) -> type[DeploymentSpec]:
    try:
        return SPEC_CLASSES[target]
    except KeyError:
        raise ValueError(f"No spec for target {target!r}.") from None


def spec_for(deployment: Any) -> Any:
    """The validated settings a deployment row stands for."""
    return spec_class_for(deployment.target).from_deployment(deployment)
