"""Celery tasks: each receives ids, calls one function, and returns."""

from celery import shared_task
from django.utils import timezone

from clusters.health import clusters_check
from deployments.services.expiry import expiry_run
from deployments.services.spend import spend_accrue
from runbook import ledger, runner
from runbook.dispatch import ADVANCE_TASK
from workers.metering_tasks import measure_spend, sample_model_servers  # noqa: F401 (registers them)


@shared_task(name=ADVANCE_TASK)
def advance(kind: str, owner_id: int, due: str | None = None) -> None:
    """Run the next step of an owner's plan (a deployment's, a cluster's)."""
    runner.advance(kind, owner_id, due)


@shared_task(name="workers.tasks.reconcile")
def reconcile() -> int:
    """Re-queue plans whose task was lost (a killed worker, a broker restart), any owner."""
    return ledger.requeue_stalled()


@shared_task(name="workers.tasks.check_clusters")
def check_clusters() -> list[int]:
    """Mark lost the ready clusters GKE no longer has; the ids of those marked."""
    return clusters_check()


@shared_task(name="workers.tasks.governance_tick")
def governance_tick() -> dict[str, int]:
    """Accrue what running deployments cost, warn before expiry, tear down after it."""
    now = timezone.now()
    accrued = spend_accrue(now=now)
    expiry = expiry_run(now=now)
    return {"accrued": accrued, "warned": expiry.warned, "expired": expiry.expired}
