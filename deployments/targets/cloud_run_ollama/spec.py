"""What a Cloud Run + Ollama deployment asks for (seed 000), and whether it can run.

Each field is declared once, with the seed's `gcloud run deploy` value as its default;
the form, the API and the plan all read this class, so a rule lives once.
"""

from dataclasses import dataclass

from deployments.catalog import MODELS, CatalogModel
from deployments.targets.cloud_run import fields as cloud_run
from deployments.targets.cloud_run.spec import CloudRunSpec
from deployments.targets.fields import FieldErrors, choice_field, int_field

# Ollama has no ceiling of its own; past this no model fits a GPU's memory anyway.
MAX_PARALLEL = 64


def _model_choices() -> list[tuple[str, str]]:
    return [(m.key, f"{m.label} ({m.ollama_tag})") for m in MODELS.values()]


@dataclass(frozen=True, kw_only=True)
class CloudRunOllamaSpec(CloudRunSpec):
    model: str = choice_field(
        label="Model",
        help="The Ollama tag is pulled into the image at build time, so cold starts do not "
        "download weights.",
        choices=_model_choices,
        choice_error="Unknown model; pick one from the catalog.",
        aliases=lambda: {m.ollama_tag: m.key for m in MODELS.values()},
    )
    region: str = cloud_run.region()
    gpu_type: str = cloud_run.gpu_type()
    gpu_count: int = cloud_run.gpu_count()
    cpu: int = cloud_run.cpu(8)
    memory_gib: int = cloud_run.memory_gib(32)
    ollama_parallel: int = int_field(
        4,
        label="Ollama parallel slots",
        help="requests Ollama serves at once. Each slot needs its own GPU memory for the "
        "context, and more slots make each request slower.",
        cli="OLLAMA_NUM_PARALLEL",
        minimum=1,
        maximum=MAX_PARALLEL,
        maximum_reason="more slots than any model fits in one GPU's memory",
    )
    concurrency: int = cloud_run.concurrency(
        4,
        help="requests Cloud Run sends to one instance at once. Equal to OLLAMA_NUM_PARALLEL "
        "gives the best latency; up to 2× improves GPU utilisation at the cost of requests "
        "queuing inside Ollama.",
    )
    min_instances: int = cloud_run.min_instances()
    max_instances: int = cloud_run.max_instances()
    timeout_seconds: int = cloud_run.timeout_seconds()

    @property
    def catalog_model(self) -> CatalogModel:
        return MODELS[self.model]

    def engine_errors(self) -> FieldErrors:
        errors: FieldErrors = {}
        if self.concurrency > 2 * self.ollama_parallel:
            errors.setdefault("concurrency", []).append(
                f"Concurrency {self.concurrency} is more than twice the {self.ollama_parallel} "
                "Ollama parallel slots. Extra requests queue inside Ollama, so latency rises and "
                "Cloud Run does not scale out for them. Use at most "
                f"{2 * self.ollama_parallel}; equal to the slots gives the best latency.",
            )
        needed = self.catalog_model.vram_needed_gib(self.ollama_parallel)
        if needed > self.gpu.memory_gib:
            errors.setdefault("model", []).append(
                f"{self.catalog_model.ollama_tag} with {self.ollama_parallel} parallel slots "
                f"needs about {needed} GiB of GPU memory; an {self.gpu.label} has "
                f"{self.gpu.memory_gib} GiB. Use fewer parallel slots, a smaller model or a "
                "larger GPU.",
            )
        return errors
