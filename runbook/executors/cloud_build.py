"""Cloud Build steps: a tagged build found again after a crash, and its cancellation.

Cloud Build takes no request id and names a build itself, so a create is not idempotent
as the other creates are (a repository, bucket or service account has the name the plan
gives it; a second create answers 409). Instead each build carries its attempt's tag:
before starting one, the step looks for the tag; and a create whose answer never came (a
timeout: Google may still receive it) is recorded, so the step only looks again until
ROLLOUT_LATE_REQUEST_SECONDS have passed instead of starting a second build.
"""

import time

import requests
from google.api_core import exceptions as gexc

from gcp import cloud_build
from gcp.cloud_build import BuildState
from gcp.settings import gcp_setting
from runbook.owners import StepClaim
from runbook.results import Failed, Retry, StepResult, Succeeded, Waiting
from runbook.settings import rollout_setting

# No answer, but the request may have reached Cloud Build (or may still).
UNANSWERED = (
    requests.Timeout,
    requests.ConnectionError,
    gexc.DeadlineExceeded,
    gexc.GatewayTimeout,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    TimeoutError,
    ConnectionError,
)


def _after_build(build: BuildState, claim: StepClaim) -> StepResult:
    outputs = {"build": build.name, "build_log_url": build.log_url}
    if not build.done:
        return Waiting(build.name, message=f"Build {build.status.lower()}", outputs=outputs)
    if not build.succeeded:
        return Failed(f"Cloud Build ended {build.status}: {build.detail}", _hint(build, claim))
    return Succeeded(outputs={**outputs, "images": build.images})


def _hint(build: BuildState, claim: StepClaim) -> str:
    if "artifactregistry.repositories.uploadArtifacts" in build.detail:
        # The build pushes with its own account's rights, which the operator grants once.
        body = claim.step.request.body if claim.step.request else None
        account = str((body or {}).get("serviceAccount", "")).rsplit("/", 1)[-1]
        return (
            f"The build account {account} may not push images. Grant it once: gcloud "
            f"projects add-iam-policy-binding {gcp_setting('PROJECT')} "
            f"--member=serviceAccount:{account} --role=roles/artifactregistry.writer; "
            "then retry."
        )
    return (
        f"Read the build log ({build.log_url or 'Cloud Build history'}); a model tag that "
        "Ollama does not publish, or a full disk, are the usual causes. Then retry."
    )


def _sent_key(tag: str) -> str:
    return f"build_requested_at:{tag}"


def run_build(claim: StepClaim) -> StepResult:
    if claim.operation:
        return _after_build(cloud_build.get_build(claim.operation), claim)
    # No build recorded: a worker may have died between starting the build and recording
    # it, or its request may have had no answer. The attempt's tag finds that build.
    params = claim.step.params
    existing = cloud_build.find_build(parent=params["parent"], tag=params["tag"])
    if existing is not None:
        return _after_build(existing, claim)
    sent = claim.outputs.get(_sent_key(params["tag"]))
    if sent is not None and time.time() < sent + rollout_setting("LATE_REQUEST_SECONDS"):
        return Waiting(
            "",
            message="The request to start the build got no answer and may still reach "
            "Cloud Build; looking for it again before starting another.",
        )
    sent_at = time.time()
    try:
        started = cloud_build.create_build(
            parent=params["parent"], body=claim.step.request.body or {}
        )
    except UNANSWERED as exc:
        return Retry(
            f"No answer to the request to start the build ({type(exc).__name__}: {exc}).",
            outputs={_sent_key(params["tag"]): sent_at},
        )
    return _after_build(started, claim)


def cancel_build(claim: StepClaim) -> StepResult:
    params = claim.step.params
    running = [
        b for b in cloud_build.find_builds(parent=params["parent"], tag=params["tag"]) if not b.done
    ]
    for build in running:
        cloud_build.cancel_build(build.name)
    if not running:
        return Succeeded("No build was running.")
    return Succeeded(f"Cancelled {', '.join(b.name for b in running)}.")
