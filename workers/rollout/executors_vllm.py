"""Executors for the actions only the Cloud Run + vLLM plan has.

Same contract as workers/rollout/executors.py: idempotent, no sleeping, Google's
long operations returned as Waiting. The IAM and bucket calls here are synchronous
in Google's APIs, so they finish within the step.
"""

from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as gexc

from deployments.services.rollout import Failed, StepClaim, StepResult, Succeeded
from workers.gcp import endpoint, iam, secret_manager, storage
from workers.gcp.endpoint import EndpointReply
from workers.rollout.endpoint_calls import call_endpoint


def ensure_service_account(claim: StepClaim) -> StepResult:
    params = claim.step.params
    email, created = iam.ensure_service_account(
        project=params["project"], body=claim.step.request.body or {}
    )
    message = f"Created {email}." if created else f"{email} already exists."
    return Succeeded(message, outputs={"service_account": email})


def grant_accessor(claim: StepClaim) -> StepResult:
    params = claim.step.params
    try:
        changed = secret_manager.grant(
            name=params["name"], member=params["member"], role=params["role"]
        )
    except gexc.NotFound:
        return Failed(
            f"The team's Hugging Face secret {params['name']} does not exist.",
            "A team admin saves the team's Hugging Face token on the team's Hugging Face page; "
            "then retry.",
        )
    return Succeeded(f"{params['member']} may read the token" + ("" if changed else " already"))


def revoke_accessor(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = secret_manager.revoke(
        name=params["name"], member=params["member"], role=params["role"]
    )
    return Succeeded("Access revoked." if changed else "It had no access.")


def ensure_bucket(claim: StepClaim) -> StepResult:
    params = claim.step.params
    created = storage.ensure_bucket(project=params["project"], body=claim.step.request.body or {})
    bucket = params["bucket"]
    return Succeeded(
        f"Created gs://{bucket}." if created else f"gs://{bucket} already exists.",
        outputs={"weights_bucket": bucket},
    )


def grant_bucket_role(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = storage.grant_bucket_role(
        bucket=params["bucket"], member=params["member"], role=params["role"]
    )
    return Succeeded(f"{params['member']} may read the weights" + ("" if changed else " already"))


def delete_bucket(claim: StepClaim) -> StepResult:
    deleted = storage.delete_bucket(claim.step.params["bucket"])
    if deleted is None:
        return Succeeded("The bucket was already gone.")
    return Succeeded(f"Deleted {deleted} objects and the bucket.")


def delete_service_account(claim: StepClaim) -> StepResult:
    deleted = iam.delete_service_account(claim.step.params["name"])
    return Succeeded("Deleted." if deleted else "The service account was already gone.")


def vllm_health(claim: StepClaim) -> StepResult:
    """vLLM answers /health with 200 once its engine is up; before that, wait."""
    path = claim.step.request.path
    reply = call_endpoint(
        claim, lambda uri, timeout: endpoint.get(service_uri=uri, path=path, timeout=timeout)
    )
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
    reply = call_endpoint(
        claim,
        lambda uri, timeout: endpoint.post_json(
            service_uri=uri, path=request.path, body=body, timeout=timeout
        ),
    )
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


VLLM_EXECUTORS: dict[str, Callable[[StepClaim], StepResult]] = {
    "iam.ensure_service_account": ensure_service_account,
    "iam.delete_service_account": delete_service_account,
    "secret_manager.grant_accessor": grant_accessor,
    "secret_manager.revoke_accessor": revoke_accessor,
    "storage.ensure_bucket": ensure_bucket,
    "storage.grant_bucket_role": grant_bucket_role,
    "storage.delete_bucket": delete_bucket,
    "endpoint.vllm_health": vllm_health,
    "endpoint.openai_chat": openai_chat,
}
