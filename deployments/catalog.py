"""What can be deployed where: models, GPUs and the regions that offer them.

Sizes are the download sizes Ollama lists for each tag (4-bit quantised weights),
rounded up; re-check them against the library page when a tag changes.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class GpuType:
    key: str
    label: str
    memory_gib: int
    # Cloud Run's per-instance minimums for a GPU service.
    min_cpu: int
    min_memory_gib: int


GPU_TYPES: dict[str, GpuType] = {
    "nvidia-l4": GpuType("nvidia-l4", "NVIDIA L4 (24 GB)", 24, 4, 16),
    "nvidia-rtx-pro-6000": GpuType(
        "nvidia-rtx-pro-6000", "NVIDIA RTX PRO 6000 Blackwell (96 GB)", 96, 20, 80
    ),
}

# Regions where Cloud Run offers each GPU (reference/cloud-run.md §1.1); invitation-only
# regions are left out because a request there fails for most projects.
CLOUD_RUN_GPU_REGIONS: dict[str, tuple[str, ...]] = {
    "nvidia-l4": ("asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east4"),
    "nvidia-rtx-pro-6000": ("asia-southeast1", "europe-west4", "us-central1"),
}


def cloud_run_regions() -> list[str]:
    return sorted({region for regions in CLOUD_RUN_GPU_REGIONS.values() for region in regions})


@dataclass(frozen=True)
class CatalogModel:
    key: str
    label: str
    family: str
    ollama_tag: str
    weights_gib: Decimal
    # KV cache for one parallel slot at Ollama's default context length, plus the
    # slack Ollama keeps per slot; grows with OLLAMA_NUM_PARALLEL.
    kv_cache_gib_per_slot: Decimal
    # Total parameters (billions): what bf16 weights weigh when vLLM serves the model.
    parameters_b: Decimal = Decimal(0)

    @property
    def bf16_weights_gib(self) -> Decimal:
        return (self.parameters_b * 2 * 10**9 / 2**30).quantize(Decimal("0.1"))

    def vram_needed_gib(self, parallel_slots: int) -> Decimal:
        runtime_overhead = Decimal("0.5")  # CUDA context and Ollama's own buffers
        return self.weights_gib + self.kv_cache_gib_per_slot * parallel_slots + runtime_overhead


MODELS: dict[str, CatalogModel] = {
    m.key: m
    for m in (
        CatalogModel(
            "gemma3-270m",
            "Gemma 3 270M",
            "gemma3",
            "gemma3:270m",
            Decimal("0.3"),
            Decimal("0.1"),
            parameters_b=Decimal("0.27"),
        ),
        CatalogModel(
            "gemma3-1b",
            "Gemma 3 1B",
            "gemma3",
            "gemma3:1b",
            Decimal("0.8"),
            Decimal("0.2"),
            parameters_b=Decimal("1.0"),
        ),
        CatalogModel(
            "gemma3-4b",
            "Gemma 3 4B",
            "gemma3",
            "gemma3:4b",
            Decimal("3.3"),
            Decimal("0.5"),
            parameters_b=Decimal("4.3"),
        ),
        CatalogModel(
            "gemma3-12b",
            "Gemma 3 12B",
            "gemma3",
            "gemma3:12b",
            Decimal("8.1"),
            Decimal("1.0"),
            parameters_b=Decimal("12.2"),
        ),
        CatalogModel(
            "gemma3-27b",
            "Gemma 3 27B",
            "gemma3",
            "gemma3:27b",
            Decimal("17"),
            Decimal("1.5"),
            parameters_b=Decimal("27.4"),
        ),
        CatalogModel(
            "gemma4-e2b",
            "Gemma 4 E2B",
            "gemma4",
            "gemma4:e2b",
            Decimal("7.2"),
            Decimal("0.5"),
            parameters_b=Decimal("5.1"),
        ),
        CatalogModel(
            "gemma4-e4b",
            "Gemma 4 E4B",
            "gemma4",
            "gemma4:e4b",
            Decimal("9.6"),
            Decimal("0.6"),
            parameters_b=Decimal("8.0"),
        ),
        CatalogModel(
            "gemma4-26b",
            "Gemma 4 26B A4B (MoE)",
            "gemma4",
            "gemma4:26b",
            Decimal("18"),
            Decimal("1.2"),
            parameters_b=Decimal("25.8"),
        ),
        CatalogModel(
            "gemma4-31b",
            "Gemma 4 31B",
            "gemma4",
            "gemma4:31b",
            Decimal("20"),
            Decimal("1.5"),
            parameters_b=Decimal("30.7"),
        ),
    )
}
