"""Calling a deployed model server from a smoke-test step, the same way for every target:
one short call, a server still starting re-checked later by countdown, a refused token
explained, and the smoke test's deadline over all of it.

A probe (is the server up?) must not hold a worker while the model loads: a server still
starting answers at once (connection refused, a 503 from vLLM or a front end with no ready
instance) or, behind a front end that holds requests meanwhile (Cloud Run), does not
answer within the time a warm one takes, which its target declares (Endpoint.answer_time).
Either way the step asks to be checked again in a while and the worker moves on.
"""

import time
from typing import Any

import requests
from django.conf import settings

from gcp import endpoint as endpoint_client
from gcp.endpoint import EndpointReply
from gcp.model_server import Endpoint
from runbook.owners import StepClaim
from runbook.results import Failed, Retry, StepResult
from runbook.settings import rollout_setting

DEADLINE_HINT = (
    "A cold start loads the weights into GPU memory (from a bucket mount it is slower, and a "
    "larger model needs longer). Raise ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS or read the "
    "service's logs, then retry."
)


def _waited(claim: StepClaim) -> float:
    """Seconds since the step started (across re-queues)."""
    return time.time() - claim.started_at.timestamp()


def _budget() -> float:
    return float(rollout_setting("SMOKE_TEST_TIMEOUT_SECONDS"))


def past_deadline(claim: StepClaim, waited_for: str, last_answer: str) -> Failed:
    """The smoke test's deadline passed: fail, naming what it waited for and the last
    answer seen."""
    return Failed(
        f"Waited {_budget():.0f} s for {waited_for} (the smoke test's deadline); the last "
        f"answer: {last_answer}",
        DEADLINE_HINT,
    )


def probe_timeout(claim: StepClaim) -> float:
    """How long one probe may wait for an answer: the time a warm server takes, as the
    target declares it, at most SMOKE_TEST_CHECK_SECONDS. Past half the smoke test's
    budget, SMOKE_TEST_CHECK_SECONDS: a network slower than the target expects still gets
    an answer through before the deadline."""
    check = float(rollout_setting("SMOKE_TEST_CHECK_SECONDS"))
    declared = claim.endpoint.answer_time if claim.endpoint is not None else None
    if declared is None or _waited(claim) > _budget() / 2:
        return check
    return min(declared.seconds, check)


def smoke_check_timeout(claim: StepClaim, *, probe: bool = True) -> float:
    """How long one call to the model server may hold the worker. A probe: probe_timeout.
    A chat, sent once a probe answered, may take what is left of the budget (the task's
    time limit permitting). Past the deadline a call is still made once, as short as a
    probe: its answer is the last one seen, which the failure names (or, in time after
    all, the step goes on)."""
    left = _budget() - _waited(claim)
    if probe or left <= 0:
        return max(0.05, probe_timeout(claim))
    return max(0.1, min(settings.CELERY_TASK_SOFT_TIME_LIMIT - 10, left))


def _step_call(claim: StepClaim) -> str:
    request = claim.step.request
    return f"{request.method} {request.path} to answer"


def not_ready_yet(claim: StepClaim, message: str, *, waited_for: str = "") -> Retry | Failed:
    """The model server is still starting: check again later. Not a failure, so not
    counted against the step's retries (the smoke budget bounds it); the pause grows with
    the time already waited, since a load that took 20 s is unlikely to end in the next 1,
    and never runs past the deadline, where the last check is made: past it, Failed,
    naming what was waited for (the step's own call, unless said) and `message`, the last
    answer."""
    waited = _waited(claim)
    if waited >= _budget():
        return past_deadline(claim, waited_for or _step_call(claim), message)
    poll, most = rollout_setting("POLL_SECONDS"), rollout_setting("POLL_MAX_SECONDS")
    countdown = min(max(waited / 2, poll), most, max(_budget() - waited, 0.0) + 0.1)
    return Retry(f"Not ready yet: {message}", counted=False, countdown=float(countdown))


def _endpoint(claim: StepClaim) -> Endpoint:
    if claim.endpoint is None:
        raise LookupError(f"{claim.owner_name} runs no model server to call.")
    return claim.endpoint


def call_endpoint(
    claim: StepClaim,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    probe: bool = False,
) -> EndpointReply | StepResult:
    """Call the private address once; the reply, or what to do instead. `probe`: a short
    call asking whether the server is up (probe_timeout); otherwise (a chat) the call may
    take what is left of the smoke test's budget.

    The address is the rollout output the target's endpoint names, the credential the
    kind it declares. A server not answering yet (no connection, a 503, no answer in time)
    is checked again by countdown until the deadline, which fails the step with the last
    answer seen."""
    server = _endpoint(claim)
    uri = claim.outputs.get(server.address_output, "")
    waited_for = f"{method} {path} on {uri or 'the model server'} to answer"
    # Whether the deadline had passed before this call (its answer is then the last one).
    spent = _waited(claim) >= _budget()
    timeout = smoke_check_timeout(claim, probe=probe)
    # The step's own headers (an Inference Gateway's objective) go with each of its calls.
    headers = claim.step.request.headers
    try:
        if method == "GET":
            reply = endpoint_client.get(
                address=uri,
                credential=server.credential,
                path=path,
                timeout=timeout,
                headers=headers,
            )
        else:
            reply = endpoint_client.post_json(
                address=uri,
                credential=server.credential,
                path=path,
                body=body or {},
                timeout=timeout,
                headers=headers,
            )
    except requests.Timeout:
        # Cloud Run holds a request while an instance starts; the start goes on without it.
        answer = f"no answer within {timeout:.2f} s (the model may still be loading)"
    except requests.ConnectionError as exc:
        # Nothing listening yet (a server starting), or a network on its way up.
        answer = f"could not connect to {uri}: {str(exc)[:200]}"
    else:
        if reply.status in (401, 403):
            return Failed(
                f"The endpoint refused the portal's credential ({reply.status}): {reply.text}",
                server.access_hint,
            )
        if reply.status == 429 or (reply.status >= 500 and reply.status != 503):
            if spent:
                return past_deadline(claim, waited_for, f"{reply.status}: {reply.text}")
            return Retry(f"The service answered {reply.status}: {reply.text}")
        if reply.status != 503:
            return reply
        # No instance can take it yet, or vLLM's /health before its engine is up.
        answer = f"the service answered 503: {reply.text}"
    return not_ready_yet(claim, answer, waited_for=waited_for)
