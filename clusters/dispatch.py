"""Queue the cluster worker on commit, by task name (the domain does not import workers)."""

from functools import partial

from celery import current_app
from django.db import transaction

ADVANCE_CLUSTER_TASK = "workers.tasks.advance_cluster"


def cluster_schedule(*, cluster_id: int, countdown: float = 0) -> None:
    transaction.on_commit(
        partial(current_app.send_task, ADVANCE_CLUSTER_TASK, args=[cluster_id], countdown=countdown)
    )
