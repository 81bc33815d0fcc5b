"""Advance a rollout by one step: claim it, run it outside any transaction, record it."""

import logging
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from deployments.services.rollout import (
    Failed,
    Retry,
    StepClaim,
    StepResult,
    rollout_claim,
    rollout_record,
)
from gcp.errors import diagnose
from telemetry.instruments import ADVANCE_TASKS
from telemetry.logs import log_context
from workers.rollout.executors import EXECUTORS

logger = logging.getLogger(__name__)


def advance(deployment_id: int, due: str | None = None) -> None:
    with log_context(deployment=deployment_id):
        claim = rollout_claim(deployment_id=deployment_id, due=due)
        if claim is None:
            return
        ADVANCE_TASKS.labels(step=claim.step.key, action=claim.step.action).inc()
        result = run_step(claim)
        logger.info(
            "deployment %s step %s: %s", deployment_id, claim.step.key, type(result).__name__
        )
        rollout_record(claim=claim, result=result)


def run_step(claim: StepClaim) -> StepResult:
    return run_executor(EXECUTORS[claim.step.action], claim, f"deployment {claim.deployment_id}")


def run_executor(executor: Callable[[Any], StepResult], claim: Any, owner: str) -> StepResult:
    """Run one step's executor and turn whatever it raises into a step result: Google's
    transient errors retried, the rest failed with Google's message and what to do.
    `owner` names what the step belongs to in the log ("deployment 7", "cluster 2")."""
    try:
        return executor(claim)
    except SoftTimeLimitExceeded:
        return Retry("The step ran past the task's time limit.")
    except Exception as exc:
        try:
            diagnosis = diagnose(
                exc,
                required_role=claim.step.required_role,
                principal=settings.GCP["PORTAL_SERVICE_ACCOUNT"],
                project=settings.GCP["PROJECT"],
            )
        except Exception:
            logger.exception("%s step %s crashed", owner, claim.step.key)
            return Failed(
                f"Hangar failed while running this step: {type(exc).__name__}: {exc}",
                "This is a fault in Hangar, not in Google Cloud; the traceback is in the "
                "worker's log. Retry once it is fixed.",
            )
        if diagnosis.transient:
            return Retry(diagnosis.message)
        return Failed(diagnosis.message, diagnosis.hint)
