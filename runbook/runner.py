"""Advance an owner's plan by one step: claim it, run it outside any transaction, record it."""

import logging
from collections.abc import Mapping

from celery.exceptions import SoftTimeLimitExceeded

from gcp.errors import diagnose, failed_call
from gcp.settings import gcp_setting
from runbook import ledger
from runbook.executors import EXECUTORS
from runbook.owners import Executor, StepClaim, owner_of
from runbook.results import Failed, Retry, StepResult
from telemetry.instruments import ADVANCE_TASKS
from telemetry.logs import log_context

logger = logging.getLogger(__name__)


def advance(kind: str, owner_id: int, due: str | None = None) -> None:
    with log_context(owner_kind=kind, owner_id=owner_id):
        claim = ledger.claim(kind, owner_id, due=due)
        if claim is None:
            return
        ADVANCE_TASKS.labels(step=claim.step.key, action=claim.step.action).inc()
        result = run_step(claim)
        logger.info("%s step %s: %s", claim.owner_name, claim.step.key, type(result).__name__)
        ledger.record(claim=claim, result=result)


def executor_for(kind: str, action: str) -> Executor:
    """The function that runs `action` for this kind of owner: the owner's own, else the
    engine's generic one for that API."""
    own: Mapping[str, Executor] = owner_of(kind).executors()
    return own.get(action) or EXECUTORS[action]


def run_step(claim: StepClaim) -> StepResult:
    return run_executor(executor_for(claim.owner_kind, claim.step.action), claim)


def run_executor(executor: Executor, claim: StepClaim) -> StepResult:
    """Run one step's executor and turn whatever it raises into a step result: Google's
    transient errors retried, the rest failed with Google's message and what to do."""
    try:
        return executor(claim)
    except SoftTimeLimitExceeded:
        return Retry("The step ran past the task's time limit.")
    except Exception as exc:
        try:
            diagnosis = diagnose(
                exc,
                required_role=claim.step.required_role,
                principal=gcp_setting("PORTAL_SERVICE_ACCOUNT"),
                project=gcp_setting("PROJECT"),
            )
        except Exception:
            logger.exception("%s step %s crashed", claim.owner_name, claim.step.key)
            return Failed(
                f"Hangar failed while running this step: {type(exc).__name__}: {exc}",
                "This is a fault in Hangar, not in Google Cloud; the traceback is in the "
                "worker's log. Retry once it is fixed.",
            )
        if diagnosis.transient:
            return Retry(diagnosis.message, call=failed_call(exc))
        return Failed(diagnosis.message, diagnosis.hint)
