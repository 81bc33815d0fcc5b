"""What Cloud Run holds per service: spec and status, IAM policy, revisions, warmth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.iam.v1 import policy_pb2

from sandbox.core.validation import to_json
from sandbox.iam import policies

if TYPE_CHECKING:
    from sandbox.core.state import State


@dataclass
class Revision:
    name: str
    image: str
    model: str | None
    image_error: str | None
    server: str = "ollama"  # which model server the image runs: "ollama" or "vllm"
    max_model_len: int | None = None


@dataclass
class StoredService:
    pb: Any
    policy: policy_pb2.Policy = field(default_factory=policies.empty_policy)
    revisions: int = 0
    pending: Revision | None = None
    serving: Revision | None = None
    # When the serving revision's instance is warm; None until a request starts one.
    warm_at: float | None = None
    # What the serving vLLM has counted (sandbox.vllm_server.Metrics), for /metrics.
    metrics: Any = None


class RunStore:
    def __init__(self) -> None:
        self.services: dict[str, StoredService] = {}

    def clear(self) -> None:
        self.services.clear()

    def snapshot(self) -> list[dict[str, object]]:
        return [
            {
                "service": to_json(s.pb),
                "iamPolicy": to_json(s.policy),
                "model": s.serving.model if s.serving else None,
            }
            for s in self.services.values()
        ]


def serving(state: State, project: str, location: str, service_id: str) -> StoredService | None:
    """The service a model-server URL names, if it has a ready revision."""
    stored = state.store(RunStore).services.get(
        f"projects/{project}/locations/{location}/services/{service_id}"
    )
    if stored is None or stored.serving is None:
        return None
    return stored


def warm_wait(stored: StoredService, load_delay: float) -> float:
    """Seconds a request must wait for an instance; the first one starts it."""
    t = time.time()
    if stored.warm_at is None:
        stored.warm_at = t + load_delay
    return max(0.0, stored.warm_at - t)
