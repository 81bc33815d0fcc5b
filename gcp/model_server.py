"""What a deployed model server speaks and which credential it wants.

Targets declare these for their endpoints (deployments/targets/endpoint.py); the endpoint
client and the credential strategies here, the playground and the meters act on them.
"""

import enum


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
