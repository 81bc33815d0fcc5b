"""Calling a deployed model server from a smoke-test step, the same way for every target:
one short check inside the step's time budget, a model still loading re-queued, a refused
token explained."""

import time
from collections.abc import Callable

import requests
from django.conf import settings

from deployments.services.rollout import Failed, Retry, StepClaim, StepResult
from workers.gcp.endpoint import EndpointReply


def smoke_check_timeout(claim: StepClaim) -> float | Failed:
    """How long one check of the model server may hold the worker, or Failed once the
    smoke test's budget is spent.

    A check is short (SMOKE_TEST_CHECK_SECONDS): while the model loads, the step answers
    "not yet" and is re-queued with the rollout's poll countdown, so a worker slot is held
    for the call only, never for the load."""
    cfg = settings.ROLLOUT
    budget = float(cfg["SMOKE_TEST_TIMEOUT_SECONDS"])
    elapsed = time.time() - claim.started_at.timestamp()
    if elapsed > budget:
        return Failed(
            f"The model server did not answer within {budget:.0f} s.",
            "A cold start loads the weights into GPU memory (from a bucket mount it is "
            "slower, and a larger model needs longer). Raise ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS "
            "or read the service's logs, then retry.",
        )
    check = float(cfg["SMOKE_TEST_CHECK_SECONDS"])
    return max(1.0, min(check, budget - elapsed, settings.CELERY_TASK_SOFT_TIME_LIMIT - 10))


def not_ready_yet(message: str) -> Retry:
    """The model server is still starting: check again after the poll countdown. Not a
    failure, so not counted against the step's retries; the smoke budget bounds it."""
    return Retry(message, counted=False)


def call_endpoint(
    claim: StepClaim, send: Callable[[str, str, float], EndpointReply]
) -> EndpointReply | StepResult:
    """Call the private address once, within the smoke-test budget; a reply, or what to do
    instead.

    `send(address, credential, timeout)`; the address is the rollout output the target's
    endpoint names, and the credential the kind it declares."""
    uri = claim.outputs.get(claim.endpoint.address_output, "")
    timeout = smoke_check_timeout(claim)
    if isinstance(timeout, Failed):
        return timeout
    try:
        reply = send(uri, claim.endpoint.credential, timeout)
    except requests.Timeout:
        # Cloud Run holds a request while an instance starts; the start goes on without it.
        return not_ready_yet(f"No answer within {timeout:.0f} s (the model may still be loading).")
    except requests.ConnectionError as exc:
        return Retry(f"Could not connect to {uri}: {exc}")
    if reply.status in (401, 403):
        return Failed(
            f"The endpoint refused the portal's credential ({reply.status}): {reply.text}",
            claim.endpoint.access_hint,
        )
    if reply.status == 503:
        # No instance can take it yet, or vLLM's /health before its engine is up.
        return not_ready_yet(f"The service answered 503: {reply.text}")
    if reply.status == 429 or reply.status >= 500:
        return Retry(f"The service answered {reply.status}: {reply.text}")
    return reply
