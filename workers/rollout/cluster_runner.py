"""Advance a cluster plan by one step: claim, run outside any transaction, record.

The deployment runner's twin over clusters/rollout.py; running a step and diagnosing what
it raised is runner.run_executor, shared.
"""

import logging

from clusters.rollout import ClusterClaim, cluster_claim, cluster_record
from deployments.services.rollout import StepResult
from workers.rollout.executors.container import CLUSTER_EXECUTORS
from workers.rollout.runner import run_executor

logger = logging.getLogger(__name__)


def advance_cluster(cluster_id: int) -> None:
    claim = cluster_claim(cluster_id=cluster_id)
    if claim is None:
        return
    result = run_cluster_step(claim)
    logger.info("cluster %s step %s: %s", cluster_id, claim.step.key, type(result).__name__)
    cluster_record(claim=claim, result=result)


def run_cluster_step(claim: ClusterClaim) -> StepResult:
    executor = CLUSTER_EXECUTORS[claim.step.action]
    return run_executor(executor, claim, f"cluster {claim.cluster_id}")
