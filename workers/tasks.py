"""Celery tasks: each receives an id, calls one function, and returns."""

from celery import shared_task

from deployments.dispatch import ADVANCE_TASK, rollout_schedule
from deployments.services.rollout import rollout_stalled_ids
from workers.rollout import runner


@shared_task(name=ADVANCE_TASK)
def advance(deployment_id: int) -> None:
    runner.advance(deployment_id)


@shared_task(name="workers.tasks.reconcile")
def reconcile() -> int:
    """Re-queue rollouts whose task was lost (a killed worker, a broker restart)."""
    stalled = rollout_stalled_ids()
    for deployment_id in stalled:
        rollout_schedule(deployment_id=deployment_id)
    return len(stalled)
