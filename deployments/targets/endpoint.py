"""What a deployed model server looks like from outside: where its address is, which
protocol it speaks, which credential it wants, and the model names it serves.

A target's plan declares this; the smoke test, the playground and the deployment page
read it, so none of them asks which target they are talking to.
"""

from gcp.model_server import AnswerTime, Credential, Endpoint, Protocol

__all__ = ["AnswerTime", "Credential", "Endpoint", "Protocol", "openai_smoke_body"]

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
