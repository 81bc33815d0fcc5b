"""The targets side by side for one model: does it fit, what it costs, how it starts.

Each target prices itself in the configuration its seed uses for a model of that size
(its `compare`), with the same estimator the request itself goes through.
"""

from decimal import Decimal
from typing import Any

from deployments.catalog import MODELS
from deployments.hf_catalog import HF_MODELS
from deployments.services.prices import price_table_active
from deployments.targets import TARGETS
from deployments.targets.base import ModelSizes, TargetOption

# The same model in the two catalogs: Ollama tags (4-bit) and Hugging Face ids (bf16).
HF_TO_OLLAMA = {
    "gemma-3-1b-it": "gemma3-1b",
    "gemma-3-4b-it": "gemma3-4b",
    "gemma-3-12b-it": "gemma3-12b",
    "gemma-4-e2b-it": "gemma4-e2b",
    "gemma-4-e4b-it": "gemma4-e4b",
    "gemma-4-26b-a4b-it": "gemma4-26b",
    "gemma-4-31b-it": "gemma4-31b",
}


def model_sizes(model: str) -> ModelSizes:
    """`model` is a key of either catalog (deployments.catalog or deployments.hf_catalog)."""
    if model in MODELS:
        ollama = MODELS[model]
        return ModelSizes(model, ollama.vram_needed_gib(4), ollama.bf16_weights_gib)
    ollama_key = HF_TO_OLLAMA.get(model)
    ollama_needs = MODELS[ollama_key].vram_needed_gib(4) if ollama_key else None
    return ModelSizes(model, ollama_needs, HF_MODELS[model].weights_gib)


def target_comparison(
    *, model: str, busy_hours_per_day: Decimal, chosen: str = "", spec: Any = None
) -> list[TargetOption]:
    """The targets side by side; the `chosen` target's row is priced from `spec`, the
    request as filled in, so it matches the estimate above it."""
    sizes = model_sizes(model)
    prices = price_table_active().data
    options = [
        t.compare(sizes, prices, busy_hours_per_day, spec=spec if t.name == chosen else None)
        for t in TARGETS.values()
    ]
    return [option for option in options if option is not None]
