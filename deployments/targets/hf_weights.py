"""What a spec serving Hugging Face weights through vLLM knows of its model.

A mixin, not a dataclass: it adds no field, only reads the spec's own `model`.
"""

from deployments.hf_catalog import HF_MODELS, HfModel


class HfWeights:
    model: str

    @property
    def hf_model(self) -> HfModel:
        return HF_MODELS[self.model]

    @property
    def needs_hf_token(self) -> bool:
        # Asked before the model is known to be one of the catalog's (hf_access.py).
        return self.model in HF_MODELS and self.hf_model.gated
