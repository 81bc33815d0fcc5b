"""Hugging Face models vLLM can serve on a Cloud Run or GKE GPU, and whether they fit it.

Sizes are the bf16 safetensors download (what vLLM loads into GPU memory), rounded
up. Layer and KV-head counts come from each model's config.json; the KV cache is
counted as if every layer kept the whole context, which over-counts the
sliding-window layers of Gemma 3 and 4 and so errs on the side of fitting.
Gemma 3 is gated (its licence must be accepted on Hugging Face, and the download
needs a token); Gemma 4 is Apache 2.0 and is not.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

GIB = 2**30
KV_DTYPE_BYTES = 2  # bf16 keys and values, vLLM's default kv-cache dtype for bf16 weights
# CUDA context, activations and CUDA graphs, outside vLLM's KV budget.
RUNTIME_OVERHEAD_GIB = Decimal("1.5")
# vLLM refuses to start if one sequence of max-model-len tokens does not fit the KV
# cache; below this context a chat model is of little use, so the form refuses it.
MIN_CONTEXT_TOKENS = 2048
# Suggested lengths are rounded down to this, vLLM's block-friendly granularity.
CONTEXT_STEP = 1024


# For a first look (the comparison table), before any settings are chosen.
VLLM_DEFAULT_UTILIZATION = Decimal("0.9")  # vLLM's default --gpu-memory-utilization
MIN_KV_GIB = Decimal("1")  # a few thousand tokens of context: the least worth serving


def vllm_needs_gib(bf16_weights_gib: Decimal) -> Decimal:
    """GPU memory vLLM needs for the weights and a useful KV cache at its default share."""
    return (bf16_weights_gib + RUNTIME_OVERHEAD_GIB + MIN_KV_GIB) / VLLM_DEFAULT_UTILIZATION


def hf_model_choices(keys: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """A model field's (key, label) choices: the label names the Hugging Face id, the size
    and whether it is gated. `keys`: the models a target offers (all by default)."""
    models = HF_MODELS.values() if keys is None else [HF_MODELS[key] for key in keys]
    return [
        (m.key, f"{m.label} ({m.hf_id}, {m.weights_gib} GiB{', gated' if m.gated else ''})")
        for m in models
    ]


@dataclass(frozen=True)
class HfModel:
    key: str
    label: str
    family: str
    hf_id: str
    weights_gib: Decimal
    gated: bool
    kv_layers: int
    kv_heads: int
    head_dim: int
    max_context: int
    # Whether the Cloud Run vLLM form offers it (that form lists the catalog). The GKE
    # targets name their seeds' models themselves; the comparison sizes every model here.
    cloud_run: bool = True

    @property
    def reasoning(self) -> bool:
        """Gemma 4 can think before it answers; the playground shows that apart."""
        return self.family == "gemma4"

    @property
    def kv_bytes_per_token(self) -> int:
        return 2 * self.kv_layers * self.kv_heads * self.head_dim * KV_DTYPE_BYTES

    def kv_cache_gib(self, tokens: int) -> Decimal:
        return Decimal(tokens * self.kv_bytes_per_token) / GIB

    def kv_budget_gib(self, gpu_memory_gib: int, utilization: Decimal) -> Decimal:
        """GPU memory vLLM may give the KV cache: its share, less weights and overhead."""
        return gpu_memory_gib * utilization - self.weights_gib - RUNTIME_OVERHEAD_GIB

    def max_fitting_context(self, gpu_memory_gib: int, utilization: Decimal) -> int:
        """The longest max-model-len whose KV cache fits beside the weights (0 if none)."""
        budget = self.kv_budget_gib(gpu_memory_gib, utilization)
        if budget <= 0:
            return 0
        tokens = int((budget * GIB / self.kv_bytes_per_token).to_integral_value(ROUND_FLOOR))
        return min(self.max_context, tokens // CONTEXT_STEP * CONTEXT_STEP)


HF_MODELS: dict[str, HfModel] = {
    m.key: m
    for m in (
        # Seed 001's model.
        HfModel(
            "gemma-3-1b-it",
            "Gemma 3 1B IT",
            "gemma3",
            "google/gemma-3-1b-it",
            Decimal("1.9"),
            gated=True,
            kv_layers=26,
            kv_heads=1,
            head_dim=256,
            max_context=32768,
        ),
        HfModel(
            "gemma-3-4b-it",
            "Gemma 3 4B IT",
            "gemma3",
            "google/gemma-3-4b-it",
            Decimal("8.1"),
            gated=True,
            kv_layers=34,
            kv_heads=4,
            head_dim=256,
            max_context=131072,
        ),
        HfModel(
            "gemma-3-12b-it",
            "Gemma 3 12B IT",
            "gemma3",
            "google/gemma-3-12b-it",
            Decimal("22.8"),
            gated=True,
            kv_layers=48,
            kv_heads=8,
            head_dim=256,
            max_context=131072,
        ),
        # Seed 002's small Gemma 4 models (4 CPU / 16 GiB on an L4). Their later layers
        # share the KV cache of earlier ones, so fewer layers hold one than the model has.
        HfModel(
            "gemma-4-e2b-it",
            "Gemma 4 E2B IT",
            "gemma4",
            "google/gemma-4-E2B-it",
            Decimal("9.6"),
            gated=False,
            kv_layers=15,
            kv_heads=1,
            head_dim=512,
            max_context=131072,
        ),
        HfModel(
            "gemma-4-e4b-it",
            "Gemma 4 E4B IT",
            "gemma4",
            "google/gemma-4-E4B-it",
            Decimal("14.9"),
            gated=False,
            kv_layers=24,
            kv_heads=2,
            head_dim=512,
            max_context=131072,
        ),
        # Seed 003's models, for H100s (GKE). bf16 weights: the 26B A4B mixture of experts
        # holds all 26B parameters (4B active) plus its vision encoder, ~52 GB; the dense 31B
        # 30.7B plus a ~550M vision encoder, ~62 GB. Both take 256K tokens of context
        # (https://huggingface.co/google/gemma-4-26B-A4B-it, .../gemma-4-31B-it). KV geometry:
        # 30 layers x 8 KV heads and 60 layers x 16 KV heads, 256 wide, counted over every
        # layer as above.
        HfModel(
            "gemma-4-26b-a4b-it",
            "Gemma 4 26B A4B IT (MoE)",
            "gemma4",
            "google/gemma-4-26B-A4B-it",
            Decimal("52"),
            gated=False,
            kv_layers=30,
            kv_heads=8,
            head_dim=256,
            max_context=262144,
        ),
        HfModel(
            "gemma-4-31b-it",
            "Gemma 4 31B IT",
            "gemma4",
            "google/gemma-4-31B-it",
            Decimal("62"),
            gated=False,
            kv_layers=60,
            kv_heads=16,
            head_dim=256,
            max_context=262144,
        ),
        # Seed 004's base model, for the Inference Gateway's LoRA server. Gated (Meta's
        # licence), so the team's token is needed. Geometry from the model card's config.json
        # (https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct): 32 layers, 8 KV heads of
        # 128, 128K context; 8.03B parameters, ~16 GB in bf16. Not offered on Cloud Run: no
        # seed serves it there, and its adapters need the gateway's lora-syncer.
        HfModel(
            "llama-3.1-8b-instruct",
            "Llama 3.1 8B Instruct",
            "llama3",
            "meta-llama/Llama-3.1-8B-Instruct",
            Decimal("16"),
            gated=True,
            kv_layers=32,
            kv_heads=8,
            head_dim=128,
            max_context=131072,
            cloud_run=False,
        ),
    )
}
