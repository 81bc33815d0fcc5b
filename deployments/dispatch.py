"""Queue the rollout worker once the current transaction commits.

Tasks are sent by name so the domain does not import the worker package, and
only on commit so a worker never looks for a row that is not there yet.
"""

from functools import partial

from celery import current_app
from django.db import transaction

ADVANCE_TASK = "workers.tasks.advance"


def rollout_schedule(*, deployment_id: int, countdown: float = 0) -> None:
    transaction.on_commit(
        partial(current_app.send_task, ADVANCE_TASK, args=[deployment_id], countdown=countdown)
    )
