"""What a deployed model server looks like from outside: where its address is, which
protocol it speaks, which credential it wants, and the model names it serves.

A target's plan declares this; the smoke test, the playground and the deployment page
read it, so none of them asks which target they are talking to.
"""

import enum
from dataclasses import dataclass

# What every rollout asks its model before calling the deployment ready.
SMOKE_TEST_PROMPT = "Reply with one short sentence: are you ready?"


def openai_smoke_body(model: str) -> dict[str, object]:
    """The chat completion a rollout sends an OpenAI-protocol server before calling it ready."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": SMOKE_TEST_PROMPT}],
        "max_tokens": 32,
        "stream": False,
    }


class Protocol(enum.StrEnum):
    OLLAMA = "ollama"  # Ollama's /api/chat, NDJSON stream
    OPENAI = "openai"  # OpenAI's /v1/chat/completions, server-sent events


class Credential(enum.StrEnum):
    # An OIDC ID token whose audience is the service URL (private Cloud Run services).
    CLOUD_RUN_ID_TOKEN = "cloud-run-id-token"  # noqa: S105 - a kind, not a secret
    # The portal's Google access token (as the GKE auth plugin sends it) on a request to
    # the Kubernetes API server's service proxy: a GKE model server has no public address.
    GKE_SERVICE_PROXY_ACCESS_TOKEN = "gke-service-proxy-access-token"  # noqa: S105 - a kind
    # None at all, from inside the cluster's VPC: an internal GKE Gateway (gke-l7-rilb) has
    # only a VPC address, and its model servers take no key (the lora-syncer sends none).
    # The portal runs in that VPC, or reaches it through the VPC's HTTP proxy (the sandbox).
    GKE_GATEWAY_IN_VPC = "gke-gateway-in-vpc"


@dataclass(frozen=True)
class Endpoint:
    # The rollout output (Deployment.outputs) that holds the base URL once it is ready.
    address_output: str
    protocol: Protocol
    credential: Credential
    # What clients put in `model`; the first is the playground's default.
    served_models: tuple[str, ...]
    # Whether the model can show its reasoning (Gemma 4's thinking mode).
    reasoning: bool = False
    # One line for the deployment page: what is served at the address.
    description: str = ""
    # What to check when the endpoint refuses Hangar's credential (401/403).
    access_hint: str = ""
