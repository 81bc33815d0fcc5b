"""What the inference gateway target pins, together, and the CRDs of that release.

GKE Inference Gateway v1.0.0 is what seed 004 installs (`manifests.yaml` and the
`inferencepool` chart `--version v1.0.0`). Its parts move together (reference/gke.md 3.3,
7.4): the EPP reads vLLM's metrics by name, and its KV-cache metric default
(`vllm:gpu_cache_usage_perc` up to v1.2) is one recent vLLM no longer emits, so the EPP
is told the current name; v1.6 dropped InferenceObjective altogether. The lora-syncer's
first tag of the v1.0 line is v1.0.2 (seed 004 runs `:main`, which moves). vLLM is pinned
to a release that has LoRA's `cudagraph_specialize_lora` switch the seed sets.
"""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

GIE_VERSION = "v1.0.0"
EPP_IMAGE = f"registry.k8s.io/gateway-api-inference-extension/epp:{GIE_VERSION}"
LORA_SYNCER_IMAGE = "registry.k8s.io/gateway-api-inference-extension/lora-syncer:v1.0.2"
VLLM_IMAGE = "vllm/vllm-openai:v0.12.0"
KV_CACHE_METRIC = "vllm:kv_cache_usage_perc"

# Unchanged copies of kubernetes-sigs/gateway-api-inference-extension v1.0.0
# config/crd/bases/ (InferencePool inference.networking.k8s.io/v1, InferenceObjective
# inference.networking.x-k8s.io/v1alpha2): what `kubectl apply -f .../manifests.yaml` installs.
CRD_DIR = Path(__file__).parent / "crds"


@cache
def _crds() -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load(p.read_text()) for p in sorted(CRD_DIR.glob("*.yaml")))


def crds() -> list[dict[str, Any]]:
    """The release's CRDs, with Hangar's label (they are cluster-wide: kept while in use)."""
    out = []
    for crd in _crds():
        meta = {
            **crd["metadata"],
            "labels": {**crd["metadata"].get("labels", {}), "managed-by": "hangar"},
        }
        out.append({**crd, "metadata": meta})
    return out
