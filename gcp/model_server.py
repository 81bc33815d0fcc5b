"""What a deployed model server speaks, which credential it wants, where its address is.

Targets declare these for their endpoints (deployments/targets/endpoint.py); the endpoint
client and the credential strategies here, the playground and the meters act on them.
"""

import enum
from dataclasses import dataclass


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
