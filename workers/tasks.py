"""Celery tasks: each receives an id, calls one function, and returns."""

from celery import shared_task
from django.utils import timezone

from deployments.dispatch import ADVANCE_TASK
from deployments.services.expiry import expiry_run
from deployments.services.rollout import rollout_requeue_stalled
from deployments.services.spend import spend_accrue
from workers.cluster_tasks import advance_cluster, reconcile_clusters  # noqa: F401 (registers them)
from workers.metering_tasks import measure_spend, sample_model_servers  # noqa: F401 (registers them)
from workers.rollout import runner


@shared_task(name=ADVANCE_TASK)
def advance(deployment_id: int, due: str | None = None) -> None:
    runner.advance(deployment_id, due)


@shared_task(name="workers.tasks.reconcile")
def reconcile() -> int:
    """Re-queue rollouts whose task was lost (a killed worker, a broker restart)."""
    return rollout_requeue_stalled()


@shared_task(name="workers.tasks.governance_tick")
def governance_tick() -> dict[str, int]:
    """Accrue what running deployments cost, warn before expiry, tear down after it."""
    now = timezone.now()
    accrued = spend_accrue(now=now)
    expiry = expiry_run(now=now)
    return {"accrued": accrued, "warned": expiry.warned, "expired": expiry.expired}
