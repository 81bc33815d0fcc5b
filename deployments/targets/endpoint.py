"""What a deployed model server looks like from outside: where its address is, which
protocol it speaks, which credential it wants, and the model names it serves.

A target's plan declares this; the smoke test, the playground and the deployment page
read it, so none of them asks which target they are talking to.
"""

from dataclasses import dataclass

from gcp.model_server import Credential, Protocol

__all__ = ["Credential", "Endpoint", "Protocol", "openai_smoke_body"]

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
