"""Cloud Build steps: a tagged build found again after a crash, and its cancellation."""

from deployments.services.rollout import Failed, StepClaim, StepResult, Succeeded, Waiting
from workers.gcp import cloud_build
from workers.gcp.cloud_build import BuildState


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
