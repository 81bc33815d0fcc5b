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
class AnswerTime:
    """How long a warm model server takes, seen from Hangar, to answer a probe (vLLM's
    /health, Ollama's root), and why the target expects that. A probe that waits longer
    is taking "no answer yet" for "still starting": the smoke test checks again later
    instead of holding a worker for the model's load (runbook/executors/endpoint_calls.py).
    """

    seconds: float
    reason: str


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
    # How soon a probe of a warm server answers; None: not declared, a probe may wait
    # ROLLOUT_SMOKE_TEST_CHECK_SECONDS (a front end that answers 503 at once needs no more).
    answer_time: AnswerTime | None = None
