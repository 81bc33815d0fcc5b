"""The four targets side by side for one model: does it fit, what it costs, how it starts.

Each target is priced in the configuration its seed uses for a model of that size,
with the same estimator the request itself goes through.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from deployments.catalog import GPU_TYPES, MODELS
from deployments.choices import AVAILABLE_TARGETS, Target
from deployments.hf_catalog import HF_MODELS
from deployments.pricing.estimator import Estimate, estimate_cloud_run, estimate_gke
from deployments.services.prices import price_table_active

H100_GIB = 80
VLLM_UTILIZATION = Decimal("0.9")  # vLLM's default --gpu-memory-utilization
VLLM_OVERHEAD_GIB = Decimal("1.5")  # CUDA context and graphs outside the KV budget
MIN_KV_GIB = Decimal("1")  # a few thousand tokens of context: the least worth serving

COLD_START = {
    Target.CLOUD_RUN_OLLAMA: "weights in the image: fastest scale-from-zero on Cloud Run",
    Target.CLOUD_RUN_VLLM: "weights from a bucket (or baked in): slower scale-from-zero",
    Target.GKE_VLLM: "always-on nodes: no cold start, billed around the clock",
    Target.GKE_INFERENCE_GATEWAY: "always-on nodes: no cold start, billed around the clock",
}


@dataclass(frozen=True)
class TargetOption:
    target: Target
    fits: bool
    needed_gib: Decimal
    available_gib: int
    hardware: str
    estimate: Estimate | None
    cold_start: str
    available_in_hangar: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.value,
            "label": self.target.label,
            "fits": self.fits,
            "needed_gib": str(self.needed_gib),
            "available_gib": self.available_gib,
            "hardware": self.hardware,
            "estimate": self.estimate.as_json() if self.estimate else None,
            "cold_start": self.cold_start,
            "available_in_hangar": self.available_in_hangar,
        }


def _vllm_needs(weights: Decimal) -> Decimal:
    return (weights + VLLM_OVERHEAD_GIB + MIN_KV_GIB) / VLLM_UTILIZATION


# The same model in the two catalogs: Ollama tags (4-bit) and Hugging Face ids (bf16).
HF_TO_OLLAMA = {
    "gemma-3-1b-it": "gemma3-1b",
    "gemma-3-4b-it": "gemma3-4b",
    "gemma-3-12b-it": "gemma3-12b",
    "gemma-4-e2b-it": "gemma4-e2b",
    "gemma-4-e4b-it": "gemma4-e4b",
}


def _sizes(model: str) -> tuple[Decimal | None, Decimal]:
    """GPU memory Ollama needs (None if Ollama has no tag for it) and the bf16 weights."""
    if model in MODELS:
        ollama = MODELS[model]
        return ollama.vram_needed_gib(4), ollama.bf16_weights_gib
    hf = HF_MODELS[model]
    ollama_key = HF_TO_OLLAMA.get(model)
    ollama_needs = MODELS[ollama_key].vram_needed_gib(4) if ollama_key else None
    return ollama_needs, hf.weights_gib


def target_comparison(*, model: str, busy_hours_per_day: Decimal) -> list[TargetOption]:
    """`model` is a key of either catalog (deployments.catalog or deployments.hf_catalog)."""
    ollama_needs, bf16_weights = _sizes(model)
    prices = price_table_active().data
    available = {t.value for t in AVAILABLE_TARGETS}
    options = []

    def cloud_run(target: Target, needed: Decimal, cpu_mem: dict[str, tuple[int, int]]) -> None:
        fitting = [
            g for g in ("nvidia-l4", "nvidia-rtx-pro-6000") if needed <= GPU_TYPES[g].memory_gib
        ]
        gpu = GPU_TYPES[fitting[0] if fitting else "nvidia-rtx-pro-6000"]
        cpu, memory = cpu_mem[gpu.key]
        estimate = estimate_cloud_run(
            prices,
            gpu_type=gpu.key,
            gpu_count=1,
            cpu=cpu,
            memory_gib=memory,
            min_instances=0,
            max_instances=1,
            busy_hours_per_day=busy_hours_per_day,
        )
        options.append(
            TargetOption(
                target=target,
                fits=bool(fitting),
                needed_gib=needed.quantize(Decimal("0.1")),
                available_gib=gpu.memory_gib,
                hardware=f"Cloud Run, 1 × {gpu.label}, {cpu} vCPU, {memory} GiB, 0–1 instances",
                estimate=estimate if fitting else None,
                cold_start=COLD_START[target],
                available_in_hangar=target.value in available,
            )
        )

    if ollama_needs is not None:
        cloud_run(
            Target.CLOUD_RUN_OLLAMA,
            ollama_needs,
            {"nvidia-l4": (8, 32), "nvidia-rtx-pro-6000": (20, 80)},  # seed 000
        )
    vllm_needs = _vllm_needs(bf16_weights)
    cloud_run(
        Target.CLOUD_RUN_VLLM,
        vllm_needs,
        {"nvidia-l4": (4, 16), "nvidia-rtx-pro-6000": (20, 80)},  # seed 002
    )
    one_h100 = vllm_needs <= H100_GIB
    gke_machine = "a3-highgpu-1g" if one_h100 else "a3-highgpu-2g"
    gke_gpus = 1 if one_h100 else 2
    for target, machine, gpus, autopilot in (
        (Target.GKE_VLLM, gke_machine, gke_gpus, True),  # seed 003: Autopilot, H100
        (Target.GKE_INFERENCE_GATEWAY, "a3-highgpu-2g", 2, False),  # seed 004's node pool
    ):
        fits = vllm_needs <= H100_GIB * gpus
        cluster = "Autopilot" if autopilot else "Standard"
        estimate = estimate_gke(
            prices,
            machine_type=machine,
            nodes=1,
            busy_hours_per_day=busy_hours_per_day,
            autopilot=autopilot,
        )
        options.append(
            TargetOption(
                target=target,
                fits=fits,
                needed_gib=vllm_needs.quantize(Decimal("0.1")),
                available_gib=H100_GIB * gpus,
                hardware=f"GKE {cluster}, 1 × {machine} ({gpus} × H100 80 GB)",
                estimate=estimate if fits else None,
                cold_start=COLD_START[target],
                available_in_hangar=target.value in available,
            )
        )
    return options
