"""Advance a cluster plan by one step: claim, run outside any transaction, record.

The deployment runner's twin (runner.py) over clusters/rollout.py, with the same error
diagnosis: a transient Google error is retried with backoff, anything else fails the
cluster with Google's message and what to do.
"""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from clusters.rollout import ClusterClaim, cluster_claim, cluster_record
from deployments.services.rollout import Failed, Retry, StepResult
from workers.gcp.errors import diagnose
from workers.rollout.executors.container import CLUSTER_EXECUTORS

logger = logging.getLogger(__name__)


def advance_cluster(cluster_id: int) -> None:
    claim = cluster_claim(cluster_id=cluster_id)
    if claim is None:
        return
    result = run_cluster_step(claim)
    logger.info("cluster %s step %s: %s", cluster_id, claim.step.key, type(result).__name__)
    cluster_record(claim=claim, result=result)


def run_cluster_step(claim: ClusterClaim) -> StepResult:
    try:
        return CLUSTER_EXECUTORS[claim.step.action](claim)
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
            logger.exception("cluster %s step %s crashed", claim.cluster_id, claim.step.key)
            return Failed(
                f"Hangar failed while running this step: {type(exc).__name__}: {exc}",
                "This is a fault in Hangar, not in Google Cloud; the traceback is in the "
                "worker's log. Retry once it is fixed.",
            )
        if diagnosis.transient:
            return Retry(diagnosis.message)
        return Failed(diagnosis.message, diagnosis.hint)
