"""Queue an owner's next advance once the current transaction commits: at most one pending
`advance` per owner.

Tasks are sent by name so the engine does not import the worker package, and only on
commit so a worker never looks for a row that is not there yet. The owner row's
`advance_due_at` says when its queued task is due: a second is sent only when it must run
sooner than the one already queued (a tear down while a check waits a minute), and the
task whose due time is no longer the row's steps aside at once. So the queue holds about
one task per active plan, however often the reconciler looks.
"""

from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runbook.owners import owner_of

ADVANCE_TASK = "workers.tasks.advance"
# Two due times this close are the same task (clock rounding through JSON).
SAME_DUE = timedelta(milliseconds=5)


def _send(kind: str, owner_id: int, due: datetime, countdown: float) -> None:
    transaction.on_commit(
        partial(
            current_app.send_task,
            ADVANCE_TASK,
            args=[kind, owner_id, due.isoformat()],
            countdown=countdown,
        )
    )


def schedule(kind: str, owner_id: int, *, countdown: float = 0) -> None:
    """Queue the owner's next advance in `countdown` seconds, unless one due no later is
    queued already."""
    due = timezone.now() + timedelta(seconds=countdown)
    taken = (
        owner_of(kind)
        .model._default_manager.filter(pk=owner_id)
        .filter(Q(advance_due_at__isnull=True) | Q(advance_due_at__gt=due + SAME_DUE))
        .update(advance_due_at=due)
    )
    if taken:
        _send(kind, owner_id, due, countdown)


def requeue_lost(kind: str, owner_id: int) -> None:
    """Replace a queued advance that never ran (a broker restart, a worker lost with it)."""
    due = timezone.now()
    owner_of(kind).model._default_manager.filter(pk=owner_id).update(advance_due_at=due)
    _send(kind, owner_id, due, 0)


def is_current(advance_due_at: datetime | None, due: str | None) -> bool:
    """Whether a task sent for `due` is the owner's queued advance (None: sent by hand)."""
    if due is None or advance_due_at is None:
        return True
    return abs(datetime.fromisoformat(due) - advance_due_at) <= SAME_DUE
