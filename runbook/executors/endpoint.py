"""Smoke tests of the deployed model server, by protocol: the deployment is ready only
once the model answers through its private address."""

from typing import Any

from gcp.endpoint import EndpointReply
from runbook.executors.endpoint_calls import call_endpoint
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded


def ollama_chat(claim: StepClaim) -> StepResult:
    """A real chat through the private URL: the deployment is ready only if the model answers.

    Ollama has no health route; its root answers "Ollama is running" once the server is up,
    so a short probe of it comes first, and the chat only once it answered."""
    request = claim.step.request
    probe = call_endpoint(claim, "GET", "/", probe=True)
    if not isinstance(probe, EndpointReply):
        return probe
    reply = call_endpoint(claim, "POST", request.path, request.body or {})
    if not isinstance(reply, EndpointReply):
        return reply
    content = (
        (reply.body or {}).get("message", {}).get("content", "") if reply.status == 200 else ""
    )
    if not content:
        return Failed(
            f"The model's reply was not a chat answer ({reply.status}): {reply.text}",
            "Check that the image carries the model the request names (see the build step).",
        )
    return Succeeded(f"The model answered: {content[:200]}")


def vllm_health(claim: StepClaim) -> StepResult:
    """vLLM answers /health with 200 once its engine is up; before that, wait."""
    reply = call_endpoint(claim, "GET", claim.step.request.path, probe=True)
    if not isinstance(reply, EndpointReply):
        return reply
    if reply.status != 200:
        return Failed(
            f"/health answered {reply.status}: {reply.text}",
            "The container on the service's URL is not vLLM's OpenAI server; check the image.",
        )
    return Succeeded("vLLM is healthy.")


def openai_chat(claim: StepClaim) -> StepResult:
    """A real chat completion: the deployment is ready only if the model answers."""
    request = claim.step.request
    body: dict[str, Any] = request.body or {}
    reply = call_endpoint(claim, "POST", request.path, body)
    if not isinstance(reply, EndpointReply):
        return reply
    choices = (reply.body or {}).get("choices") if reply.status == 200 else None
    content = ""
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        content = str((choices[0].get("message") or {}).get("content") or "")
    if not content:
        return Failed(
            f"The model's reply was not a chat completion ({reply.status}): {reply.text}",
            f"vLLM serves the model as {body.get('model')!r} (--served-model-name); check the "
            "service's arguments.",
        )
    return Succeeded(f"The model answered: {content[:200]}")
