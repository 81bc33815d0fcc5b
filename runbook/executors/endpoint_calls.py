"""Calling a deployed model server from a smoke-test step, the same way for every target:
one short check inside the step's time budget, a model still loading re-queued, a refused
token explained."""

import time
from collections.abc import Callable

import requests
from django.conf import settings

from gcp.endpoint import EndpointReply
from gcp.model_server import Endpoint
from runbook.owners import StepClaim
from runbook.results import Failed, Retry, StepResult
from runbook.settings import rollout_setting


def _budget_left(claim: StepClaim) -> float | Failed:
    """Seconds left of the smoke test's budget (counted from the step's start, across
    re-queues), or Failed once it is spent."""
    budget = float(rollout_setting("SMOKE_TEST_TIMEOUT_SECONDS"))
    left = budget - (time.time() - claim.started_at.timestamp())
    if left <= 0:
        return Failed(
            f"The model server did not answer within {budget:.0f} s.",
            "A cold start loads the weights into GPU memory (from a bucket mount it is "
            "slower, and a larger model needs longer). Raise ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS "
            "or read the service's logs, then retry.",
        )
    return left


def smoke_check_timeout(claim: StepClaim, *, probe: bool = True) -> float | Failed:
    """How long one call to the model server may hold the worker, or Failed once the smoke
    test's budget is spent.

    A probe (is the server up?) is short, SMOKE_TEST_CHECK_SECONDS: a server still loading
    its model (Cloud Run holds the request while the instance starts) answers "not yet" and
    the step is re-queued, so a worker slot is held for the call only, never for the load.
    A chat, sent once the probe answered, may take what is left of the budget."""
    left = _budget_left(claim)
    if isinstance(left, Failed):
        return left
    cap = settings.CELERY_TASK_SOFT_TIME_LIMIT - 10
    if probe:
        cap = min(cap, float(rollout_setting("SMOKE_TEST_CHECK_SECONDS")))
    return max(0.1, min(cap, left))


def not_ready_yet(claim: StepClaim, message: str) -> Retry:
    """The model server is still starting: check again later. Not a failure, so not
    counted against the step's retries (the smoke budget bounds it); the pause grows with
    the time already waited, since a load that took 20 s is unlikely to end in the next 1."""
    waited = time.time() - claim.started_at.timestamp()
    poll, most = rollout_setting("POLL_SECONDS"), rollout_setting("POLL_MAX_SECONDS")
    countdown = min(max(waited / 2, poll), most)
    return Retry(message, counted=False, countdown=float(countdown))


def _endpoint(claim: StepClaim) -> Endpoint:
    if claim.endpoint is None:
        raise LookupError(f"{claim.owner_name} runs no model server to call.")
    return claim.endpoint


def call_endpoint(
    claim: StepClaim, send: Callable[[str, str, float], EndpointReply], *, probe: bool = False
) -> EndpointReply | StepResult:
    """Call the private address once, within the smoke-test budget; a reply, or what to do
    instead. `probe`: a short call asking whether the server is up (smoke_check_timeout).

    `send(address, credential, timeout)`; the address is the rollout output the target's
    endpoint names, and the credential the kind it declares."""
    uri = claim.outputs.get(_endpoint(claim).address_output, "")
    timeout = smoke_check_timeout(claim, probe=probe)
    if isinstance(timeout, Failed):
        return timeout
    try:
        reply = send(uri, _endpoint(claim).credential, timeout)
    except requests.Timeout:
        # Cloud Run holds a request while an instance starts; the start goes on without it.
        return not_ready_yet(
            claim, f"No answer within {timeout:.1f} s (the model may still be loading)."
        )
    except requests.ConnectionError as exc:
        return Retry(f"Could not connect to {uri}: {exc}")
    if reply.status in (401, 403):
        return Failed(
            f"The endpoint refused the portal's credential ({reply.status}): {reply.text}",
            _endpoint(claim).access_hint,
        )
    if reply.status == 503:
        # No instance can take it yet, or vLLM's /health before its engine is up.
        return not_ready_yet(claim, f"The service answered 503: {reply.text}")
    if reply.status == 429 or reply.status >= 500:
        return Retry(f"The service answered {reply.status}: {reply.text}")
    return reply
