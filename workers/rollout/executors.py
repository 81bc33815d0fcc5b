"""One function per plan action: run the step's request once, say what happened.

Each is idempotent. A step that starts a long operation returns Waiting with the
operation's name; when it is called again with that name it only polls. None of
them sleeps: the runner records the result and the task is queued again.
"""

from collections.abc import Callable
from typing import Any

from deployments.services.rollout import Failed, StepClaim, StepResult, Succeeded, Waiting
from workers.gcp import artifact_registry, cloud_build, cloud_run, endpoint
from workers.gcp.cloud_build import BuildState
from workers.gcp.endpoint import EndpointReply
from workers.gcp.operations import OperationState
from workers.rollout.endpoint_calls import call_endpoint
from workers.rollout.executors_vllm import VLLM_EXECUTORS

Executor = Callable[[StepClaim], StepResult]


def _after_operation(claim: StepClaim, state: OperationState, **outputs: Any) -> StepResult:
    if not state.done:
        return Waiting(claim.operation, outputs=outputs)
    if state.error:
        return Failed(f"Google reported: {state.error}", _hint_for(claim))
    return Succeeded(outputs=outputs)


def _hint_for(claim: StepClaim) -> str:
    return f"Compare the step's request in the plan with Google's message ({claim.step.gcloud})."


def ensure_repository(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_operation(claim, artifact_registry.get_operation(claim.operation))
    params = claim.step.params
    operation = artifact_registry.create_repository(
        parent=params["parent"],
        repository_id=params["repository_id"],
        body=claim.step.request.body or {},
    )
    if operation is None:
        return Succeeded("The repository already exists.")
    return Waiting(operation)


def _after_build(build: BuildState) -> StepResult:
    outputs = {"build": build.name, "build_log_url": build.log_url}
    if not build.done:
        return Waiting(build.name, message=f"Build {build.status.lower()}", outputs=outputs)
    if not build.succeeded:
        return Failed(
            f"Cloud Build ended {build.status}: {build.detail}",
            f"Read the build log ({build.log_url or 'Cloud Build history'}); a model tag that "
            "Ollama does not publish, or a full disk, are the usual causes. Then retry.",
        )
    return Succeeded(outputs={**outputs, "images": build.images})


def run_build(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_build(cloud_build.get_build(claim.operation))
    # No operation recorded: a worker may have died between starting the build and
    # recording it. The attempt's unique tag finds that build instead of a second one.
    params = claim.step.params
    existing = cloud_build.find_build(parent=params["parent"], tag=params["tag"])
    if existing is not None:
        return _after_build(existing)
    started = cloud_build.create_build(parent=params["parent"], body=claim.step.request.body or {})
    return _after_build(started)


def cancel_build(claim: StepClaim) -> StepResult:
    params = claim.step.params
    build = cloud_build.find_build(parent=params["parent"], tag=params["tag"])
    if build is None or build.done:
        return Succeeded("No build was running.")
    cloud_build.cancel_build(build.name)
    return Succeeded(f"Cancelled {build.name}.")


def apply_service(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_operation(claim, cloud_run.get_operation(claim.operation))
    body = claim.step.request.body or {}
    return Waiting(cloud_run.apply_service(name=claim.step.params["name"], body=body))


def grant_invoker(claim: StepClaim) -> StepResult:
    params = claim.step.params
    changed = cloud_run.grant_invoker(
        name=params["name"], member=params["member"], role=params["role"]
    )
    return Succeeded(f"{params['member']} is the invoker" + ("" if changed else " already"))


def wait_ready(claim: StepClaim) -> StepResult:
    name = claim.step.params["name"]
    service = cloud_run.get_service(name)
    if service.ready:
        return Succeeded(outputs={"service_uri": service.uri})
    if service.failed:
        return Failed(
            f"The service did not become ready: {service.message}",
            "Check the revision's logs in Cloud Run; a container that does not listen on "
            "port 8080 or runs out of memory while loading the model is the usual cause.",
        )
    return Waiting(name, message="Service reconciling")


def ollama_chat(claim: StepClaim) -> StepResult:
    """A real chat through the private URL: the deployment is ready only if the model answers."""
    request = claim.step.request
    reply = call_endpoint(
        claim,
        lambda uri, timeout: endpoint.post_json(
            service_uri=uri, path=request.path, body=request.body or {}, timeout=timeout
        ),
    )
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


def delete_service(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_operation(claim, cloud_run.get_operation(claim.operation))
    operation = cloud_run.delete_service(claim.step.params["name"])
    return Succeeded("The service was already gone.") if operation is None else Waiting(operation)


def delete_package(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_operation(claim, artifact_registry.get_operation(claim.operation))
    operation = artifact_registry.delete_package(claim.step.params["name"])
    return Succeeded("The image was already gone.") if operation is None else Waiting(operation)


EXECUTORS: dict[str, Executor] = {
    "artifact_registry.ensure_repository": ensure_repository,
    "artifact_registry.delete_package": delete_package,
    "cloud_build.run_build": run_build,
    "cloud_build.cancel_build": cancel_build,
    "cloud_run.apply_service": apply_service,
    "cloud_run.grant_invoker": grant_invoker,
    "cloud_run.wait_ready": wait_ready,
    "cloud_run.delete_service": delete_service,
    "endpoint.ollama_chat": ollama_chat,
    **VLLM_EXECUTORS,
}
