"""Seed 004's model and adapters.

Llama 3.1 8B Instruct is gated (Meta's license on Hugging Face), so the team's token is
needed. Its geometry is the model card's config.json
(https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct: 32 layers, 8 KV heads of 128,
128K context; 8.03B parameters, ~16 GB in bf16). It joins deployments/hf_catalog.py when
the target is registered (the Cloud Run vLLM form offers every catalog model).
"""

from decimal import Decimal

from deployments.hf_catalog import HfModel
from deployments.targets.gke_inference_gateway.manifests import Adapter

LLAMA_31_8B = HfModel(
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
)

# The seed's two adapters (both rank 8 or less) and the priorities it gives.
SEED_ADAPTERS = (
    Adapter("food-review", "Kawon/llama3.1-food-finetune_v14_r8", priority=10),
    Adapter("cad-fabricator", "redcathode/fabricator", priority=10),
)
SEED_BASE_PRIORITY = 20
