"""What can be deployed where: models, GPUs and the regions that offer them.

Sizes are the download sizes Ollama lists for each tag (4-bit quantised weights),
rounded up; re-check them against the library page when a tag changes.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CloudRunGpu:
    """What Cloud Run asks of an instance with this GPU (reference/cloud-run.md §1.1)."""

    regions: tuple[str, ...]
    min_cpu: int
    max_cpu: int
    min_memory_gib: int
    max_memory_gib: int


@dataclass(frozen=True)
class GpuType:
    key: str
    label: str
    memory_gib: int
    # Per-platform facts; None where the platform does not offer this GPU.
    cloud_run: CloudRunGpu | None = None


GPU_TYPES: dict[str, GpuType] = {
    g.key: g
    for g in (
        # Regions: where Cloud Run offers the GPU; invitation-only regions are left out
        # because a request there fails for most projects. An L4 instance takes Cloud Run's
        # general ceiling of 8 vCPU and 32 GiB
        # (https://cloud.google.com/run/docs/configuring/services/cpu, .../memory-limits).
        GpuType(
            "nvidia-l4",
            "NVIDIA L4 (24 GB)",
            24,
            CloudRunGpu(
                ("asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east4"),
                min_cpu=4,
                max_cpu=8,
                min_memory_gib=16,
                max_memory_gib=32,
            ),
        ),
        # The GPU page names only the RTX PRO 6000's minimum (20 vCPU, 80 GiB); until a
        # larger size is documented, Hangar offers exactly that rather than guess.
        GpuType(
            "nvidia-rtx-pro-6000",
            "NVIDIA RTX PRO 6000 Blackwell (96 GB)",
            96,
            CloudRunGpu(
                ("asia-southeast1", "europe-west4", "us-central1"),
                min_cpu=20,
                max_cpu=20,
                min_memory_gib=80,
                max_memory_gib=80,
            ),
        ),
    )
}


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

    @property
    def reasoning(self) -> bool:
        """Gemma 4 can think before it answers; the playground shows that apart."""
        return self.family == "gemma4"

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
