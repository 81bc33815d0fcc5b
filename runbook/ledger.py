"""Claiming and recording steps on the ledger, for any owner.

The worker (runbook/runner.py) claims a step here, runs it outside any transaction, and
records the result here. A step row is written before its work starts and carries a
lease, so a worker killed mid-step is replaced once the lease runs out, and a step waiting
on an operation keeps the operation's name so whoever picks it up next polls that
operation instead of starting another.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from runbook import dispatch
from runbook.models import IN_FLIGHT_OUTCOMES, Outcome, StepRun
from runbook.owners import Owner, StepClaim, owner_of, owners
from runbook.plan import Deadline, Plan, Step, deadline_of, step_of
from runbook.results import Failed, Retry, StepResult, Succeeded, Waiting
from runbook.settings import rollout_setting

_EARLY_TOLERANCE = timedelta(milliseconds=100)


def backoff(retries: int) -> float:
    """Seconds before the next check of a waiting step, doubling with each retry, capped."""
    return float(
        min(
            rollout_setting("POLL_SECONDS") * (2**retries),
            rollout_setting("POLL_MAX_SECONDS"),
        )
    )


def lease_until(now: datetime) -> datetime:
    """When a step lease taken now runs out, and another worker may take the step over."""
    return now + timedelta(seconds=rollout_setting("STEP_LEASE_SECONDS"))


def runs_of(kind: str, owner_id: int) -> QuerySet[StepRun]:
    """Every step run of one owner, oldest first."""
    return StepRun.objects.filter(owner_kind=kind, owner_id=owner_id)


def next_step(kind: str, owner_id: int, *, attempt: int, plan: Plan) -> Step | None:
    """The first step of `plan` that has not succeeded in this phase and attempt."""
    done = set(
        runs_of(kind, owner_id)
        .filter(phase=plan.phase, attempt=attempt, outcome=Outcome.SUCCEEDED)
        .values_list("step", flat=True)
    )
    return next((step for step in plan.steps if step.key not in done), None)


def claim(kind: str, owner_id: int, *, due: str | None = None) -> StepClaim | None:
    """Take the next step of the owner's plan, or finish the plan.

    None when there is nothing to run now: the task is not the owner's queued advance
    (`due`, runbook/dispatch.py), the owner is not rolling, another worker holds the
    step, a check is queued for later, or the plan just finished.
    """
    owner = owner_of(kind)
    now = timezone.now()
    with transaction.atomic():
        row = _lock(owner, owner_id, due)
        if row is None:
            return None
        plan = owner.plan(row)
        lease = uuid.uuid4().hex
        run = _in_flight(owner, row, plan.phase, now)
        if run is _BUSY:
            return None
        if isinstance(run, StepRun):
            if not _take_over(run, lease, now):
                return None
        else:
            step = next_step(kind, row.pk, attempt=row.attempt, plan=plan)
            if step is None:
                owner.finish(row, plan.phase)
                return None
            run = StepRun.objects.create(
                owner_kind=kind,
                owner_id=row.pk,
                phase=plan.phase,
                attempt=row.attempt,
                step=step.key,
                outcome=Outcome.RUNNING,
                started_at=now,
                lease_owner=lease,
                lease_expires_at=lease_until(now),
                message=step.title,
            )
        # Touch the row so the reconciler sees it moving.
        owner.model._default_manager.filter(pk=row.pk).update(updated_at=now)
        step = step_of(plan, run.step)
        return StepClaim(
            owner_kind=kind,
            owner_id=row.pk,
            run_id=run.pk,
            lease_owner=lease,
            step=step,
            operation=run.operation,
            retries=run.retries,
            started_at=run.started_at or now,
            outputs=dict(owner.outputs(row)),
            **owner.claim_context(row, step),
        )


# The in-flight step is leased by another worker: leave it alone.
_BUSY = object()


def _lock(owner: Owner, owner_id: int, due: str | None) -> Any | None:
    """The owner's row, locked, if the worker drives it.

    A task that is not the row's queued advance (one sent sooner replaced it) steps aside;
    the current one marks the queue empty, so the next schedule sends again.
    """
    row = owner.model._default_manager.select_for_update().filter(pk=owner_id).first()
    if row is None or not dispatch.is_current(row.advance_due_at, due):  # type: ignore[attr-defined]
        return None
    if row.advance_due_at is not None:  # type: ignore[attr-defined]
        owner.model._default_manager.filter(pk=row.pk).update(advance_due_at=None)
        row.advance_due_at = None  # type: ignore[attr-defined]
    return owner.begin(row)


def _in_flight(owner: Owner, row: Any, phase: str, now: datetime) -> StepRun | object | None:
    """The step still running or waiting in this phase and attempt, _BUSY, or None."""
    run = runs_of(owner.kind, row.pk).filter(outcome__in=IN_FLIGHT_OUTCOMES).first()
    if run is None:
        return None
    if run.phase == phase and run.attempt == row.attempt:
        return run
    # A newer plan (a tear down, a removal after a failure) overtook it: what it was
    # waiting on no longer matters, once no worker holds it.
    if run.lease_expires_at and run.lease_expires_at > now:
        return _BUSY
    run.outcome = Outcome.ABANDONED
    run.finished_at = now
    run.save(update_fields=["outcome", "finished_at"])
    return None


def _take_over(run: StepRun, lease: str, now: datetime) -> bool:
    """Lease an in-flight step whose lease ran out and whose next check is due."""
    if run.lease_expires_at and run.lease_expires_at > now:
        return False  # another worker is running it
    if run.not_before is not None and now + _EARLY_TOLERANCE < run.not_before:
        # Early (a task sent sooner replaced the check): keep the check's time.
        countdown = (run.not_before - now).total_seconds()
        dispatch.schedule(run.owner_kind, run.owner_id, countdown=countdown)
        return False
    run.lease_owner = lease
    run.lease_expires_at = lease_until(now)
    run.save(update_fields=["lease_owner", "lease_expires_at"])
    return True


def record(*, claim: StepClaim, result: StepResult) -> None:
    """Store what a step did and queue whatever comes next. A lost lease records nothing."""
    owner = owner_of(claim.owner_kind)
    now = timezone.now()
    with transaction.atomic():
        row = owner.model._default_manager.select_for_update().get(pk=claim.owner_id)
        run = StepRun.objects.select_for_update().get(pk=claim.run_id)
        if run.lease_owner != claim.lease_owner or run.outcome not in IN_FLIGHT_OUTCOMES:
            return
        run.lease_owner = ""
        run.lease_expires_at = None
        run.not_before = None
        outputs = getattr(result, "outputs", None)
        if outputs:
            owner.store_outputs(row, outputs, now)
        owner.model._default_manager.filter(pk=row.pk).update(updated_at=now)
        message = getattr(result, "message", "")
        if message:
            run.detail = {**run.detail, "message": message}

        if isinstance(result, Succeeded):
            owner.succeeded(row, claim.step, now)
            run.outcome = Outcome.SUCCEEDED
            run.finished_at = now
            run.error = ""
            run.save()
            dispatch.schedule(owner.kind, row.pk)
        elif not isinstance(result, Failed) and _past_deadline(claim.step, run, now):
            _fail(owner, row, run, _deadline_failure(claim.step, run, result, now), now)
        elif isinstance(result, Waiting):
            run.outcome = Outcome.WAITING
            run.operation = result.operation
            # Every call of this check got through: a later failure starts its own count.
            _calls_got_through(run)
            _check_later(run, now, backoff(0))
        elif isinstance(result, Retry) and not result.counted:
            run.error = result.error
            _check_later(run, now, result.countdown if result.countdown else backoff(0))
        elif isinstance(result, Retry) and _retries_left(run, result):
            run.retries += 1
            run.error = result.error
            _check_later(run, now, backoff(_call_retries(run)))
        else:
            _fail(owner, row, run, result, now)


# Where a step run keeps which call is being retried (Retry.call) and how many times in a
# row; run.retries stays the step's total, for the record.
_RETRYING_CALL = "retrying_call"
_CALL_RETRIES = "call_retries"


def _call_retries(run: StepRun) -> int:
    return int(run.detail.get(_CALL_RETRIES, 0))


def _retries_left(run: StepRun, result: Retry) -> bool:
    """Count a transient failure against the call that failed. Retries are per call: a
    step that makes many calls (a bucket's objects deleted one by one) reruns from its
    first, so a failure of another call than the one retried means that one got through,
    and the new one starts its own count."""
    same = run.detail.get(_RETRYING_CALL) == result.call
    in_a_row = _call_retries(run) if same else 0
    if in_a_row >= int(rollout_setting("MAX_RETRIES")):
        return False
    run.detail = {**run.detail, _RETRYING_CALL: result.call, _CALL_RETRIES: in_a_row + 1}
    return True


def _calls_got_through(run: StepRun) -> None:
    run.detail = {k: v for k, v in run.detail.items() if k not in (_RETRYING_CALL, _CALL_RETRIES)}


def step_deadline(step: Step) -> Deadline:
    """How long the step may take before it fails: what its plan declared (scaled by
    DEADLINE_SCALE), else the engine's STEP_DEADLINE_SECONDS."""
    declared = deadline_of(step) or Deadline(
        float(rollout_setting("STEP_DEADLINE_SECONDS")),
        "no step holds a rollout longer than ROLLOUT_STEP_DEADLINE_SECONDS unless its plan "
        "declares a longer wait",
    )
    return Deadline(declared.seconds * float(rollout_setting("DEADLINE_SCALE")), declared.reason)


def _past_deadline(step: Step, run: StepRun, now: datetime) -> bool:
    started = run.started_at or run.created_at
    return (now - started).total_seconds() > step_deadline(step).seconds


def _waited(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} s"


def _deadline_failure(step: Step, run: StepRun, result: StepResult, now: datetime) -> Failed:
    """What a step that ran out of time says: what it waited for, its last known state."""
    deadline = step_deadline(step)
    started = run.started_at or run.created_at
    waited = (now - started).total_seconds()
    last = (
        getattr(result, "message", "")
        or getattr(result, "error", "")
        or run.detail.get("message", "")
        or run.error
    )
    operation = getattr(result, "operation", "") or run.operation
    on = f" (operation {operation})" if operation and "/" in operation else ""
    return Failed(
        f"{step.title}{on}: gave up after {_waited(waited)}, past its deadline of "
        f"{_waited(deadline.seconds)} ({deadline.reason}). Last known state: "
        f"{last or 'nothing reported'}",
        f"Look at what it waited for ({step.cli}); retry once the cause is fixed.",
    )


def _check_later(run: StepRun, now: datetime, countdown: float) -> None:
    run.not_before = now + timedelta(seconds=countdown)
    run.save()
    dispatch.schedule(run.owner_kind, run.owner_id, countdown=countdown)


def _fail(owner: Owner, row: Any, run: StepRun, result: Retry | Failed, now: datetime) -> None:
    """A step that failed, or kept failing transiently past the retries, fails the plan."""
    hint = (
        result.hint
        if isinstance(result, Failed)
        else (
            f"Google kept answering {result.call or 'the step'} with a transient error, "
            f"{_call_retries(run)} retries in a row; retry it later."
        )
    )
    run.outcome = Outcome.FAILED
    run.finished_at = now
    run.error = result.error
    run.save()
    owner.fail(row, run.step, result, hint)


def stalled(owner: Owner) -> list[int]:
    """The owner's rolling rows whose task was lost.

    - None queued and nothing moved for STALL_SECONDS: a worker died mid-step (its task
      had started, so nothing else will come).
    - The queued one overdue by LOST_TASK_SECONDS while no row of this kind moved for
      STALL_SECONDS: the queue is not being worked (a broker restart, the worker holding
      it gone). While others move, an overdue task is waiting its turn in a long queue,
      and another one would only lengthen it.
    """
    now = timezone.now()
    still = now - timedelta(seconds=rollout_setting("STALL_SECONDS"))
    lost = now - timedelta(seconds=rollout_setting("LOST_TASK_SECONDS"))
    rolling = owner.model._default_manager.filter(owner.rolling())
    idle = Q(advance_due_at__isnull=True, updated_at__lt=still)
    if not rolling.filter(updated_at__gte=still).exists():
        idle |= Q(advance_due_at__lt=lost)
    return list(rolling.filter(idle).values_list("pk", flat=True))


def requeue_stalled() -> int:
    """Send a fresh advance for every owner's plan whose task was lost; how many were."""
    count = 0
    for owner in owners():
        for owner_id in stalled(owner):
            dispatch.requeue_lost(owner.kind, owner_id)
            count += 1
    return count
