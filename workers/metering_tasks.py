"""Celery beat tasks for the measured spend ledger (imported by workers/tasks.py so the
worker registers them)."""

from celery import shared_task

from metering.model_servers import servers_sample
from metering.services import spend_measure


@shared_task(name="workers.tasks.measure_spend")
def measure_spend() -> dict[str, int]:
    """Read Google's billed time of every billed deployment into the day ledger."""
    result = spend_measure()
    return {"days_read": result.days_read, "failed": result.failed}


@shared_task(name="workers.tasks.sample_model_servers")
def sample_model_servers() -> dict[str, int]:
    """Read what each ready deployment's model server says of itself into Postgres."""
    result = servers_sample()
    return {
        "sampled": result.sampled,
        "skipped": result.skipped,
        "failed": result.failed,
        "deleted": result.deleted,
    }
