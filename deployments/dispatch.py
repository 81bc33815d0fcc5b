"""Queue the rollout worker once the current transaction commits: at most one pending
`advance` per deployment.

Tasks are sent by name so the domain does not import the worker package, and only on
commit so a worker never looks for a row that is not there yet. `Deployment.advance_due_at`
says when the deployment's queued task is due: a second is sent only when it must run
sooner than the one already queued (a tear down while a check waits a minute), and the
task whose due time is no longer the deployment's steps aside at once. So the queue holds
about one task per active rollout, however often the reconciler looks.
"""

from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

ADVANCE_TASK = "workers.tasks.advance"
# Two due times this close are the same task (clock rounding through JSON).
SAME_DUE = timedelta(milliseconds=5)


def _send(deployment_id: int, due: datetime, countdown: float) -> None:
    transaction.on_commit(
        partial(
            current_app.send_task,
            ADVANCE_TASK,
            args=[deployment_id, due.isoformat()],
            countdown=countdown,
        )
    )


def rollout_schedule(*, deployment_id: int, countdown: float = 0) -> None:
    """Queue the next advance in `countdown` seconds, unless one due no later is queued."""
    from deployments.models import Deployment

    due = timezone.now() + timedelta(seconds=countdown)
    taken = (
        Deployment.objects.filter(pk=deployment_id)
        .filter(Q(advance_due_at__isnull=True) | Q(advance_due_at__gt=due + SAME_DUE))
        .update(advance_due_at=due)
    )
    if taken:
        _send(deployment_id, due, countdown)


def rollout_requeue_lost(*, deployment_id: int) -> None:
    """Replace a queued advance that never ran (a broker restart, a worker lost with it)."""
    from deployments.models import Deployment

    due = timezone.now()
    Deployment.objects.filter(pk=deployment_id).update(advance_due_at=due)
    _send(deployment_id, due, 0)


def is_current(advance_due_at: datetime | None, due: str | None) -> bool:
    """Whether a task sent for `due` is the deployment's queued advance (None: sent before
    tasks carried their due time, or by hand)."""
    if due is None or advance_due_at is None:
        return True
    return abs(datetime.fromisoformat(due) - advance_due_at) <= SAME_DUE
