"""Seed 004's model and adapters.

Llama 3.1 8B Instruct is in deployments/hf_catalog.py (gated: the team's token is needed),
marked as not offered on Cloud Run.
"""

from deployments.hf_catalog import HF_MODELS
from deployments.targets.gke_inference_gateway.manifests import Adapter

LLAMA_31_8B = HF_MODELS["llama-3.1-8b-instruct"]

# The seed's two adapters (both rank 8 or less) and the priorities it gives.
SEED_ADAPTERS = (
    Adapter("food-review", "Kawon/llama3.1-food-finetune_v14_r8", priority=10),
    Adapter("cad-fabricator", "redcathode/fabricator", priority=10),
)
SEED_BASE_PRIORITY = 20
