"""Calling a deployed model server from a smoke-test step, the same way for every target:
inside the step's time budget, a slow cold start retried, a refused token explained."""

import time
from collections.abc import Callable

import requests
from django.conf import settings

from deployments.services.rollout import Failed, Retry, StepClaim, StepResult
from workers.gcp.endpoint import EndpointReply


def call_endpoint(
    claim: StepClaim, send: Callable[[str, str, float], EndpointReply]
) -> EndpointReply | StepResult:
    """Call the private address within the smoke-test budget; a reply, or what to do instead.

    `send(address, credential, timeout)`; the address is the rollout output the target's
    endpoint names, and the credential the kind it declares."""
    uri = claim.outputs.get(claim.endpoint.address_output, "")
    budget = float(settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"])
    elapsed = time.time() - claim.started_at.timestamp()
    if elapsed > budget:
        return Failed(
            f"The model server did not answer within {budget:.0f} s.",
            "A cold start loads the weights into GPU memory (from a bucket mount it is "
            "slower, and a larger model needs longer). Raise ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS "
            "or read the service's logs, then retry.",
        )
    timeout = max(1.0, min(budget - elapsed, settings.CELERY_TASK_SOFT_TIME_LIMIT - 10))
    try:
        reply = send(uri, claim.endpoint.credential, timeout)
    except requests.Timeout:
        return Retry(f"No answer within {timeout:.0f} s (the model may still be loading).")
    except requests.ConnectionError as exc:
        return Retry(f"Could not connect to {uri}: {exc}")
    if reply.status in (401, 403):
        return Failed(
            f"The endpoint refused the portal's credential ({reply.status}): {reply.text}",
            claim.endpoint.access_hint,
        )
    if reply.status == 429 or reply.status >= 500:
        return Retry(f"The service answered {reply.status}: {reply.text}")
    return reply
