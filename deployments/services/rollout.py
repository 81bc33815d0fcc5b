"""Recording a rollout: which step runs next, who holds it, and what it produced.

The worker (workers/rollout/runner.py) claims a step here, runs it outside any
transaction, and records the result here. A step row is written before its work
starts and carries a lease, so a worker killed mid-step is replaced once the lease
runs out, and a step waiting on a Google operation keeps the operation's name so
whoever picks it up next polls that operation instead of starting another.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments.choices import (
    IN_FLIGHT_OUTCOMES,
    ROLLING_STATES,
    EventKind,
    Outcome,
    Phase,
    Status,
)
from deployments.dispatch import is_current, rollout_requeue_lost, rollout_schedule
from deployments.models import Deployment, DeploymentEvent
from deployments.plans import plan_for
from deployments.plans.base import Plan, Step
from deployments.services.spend import spend_accrue_deployment
from deployments.services.transitions import deployment_transition
from deployments.targets import spec_for, target_for
from deployments.targets.endpoint import Endpoint


@dataclass(frozen=True)
class StepClaim:
    """A step this worker holds the lease on, with what it needs to run it."""

    deployment_id: int
    event_id: int
    lease_owner: str
    step: Step
    operation: str
    retries: int
    started_at: Any
    outputs: dict[str, Any]
    # The model server the deployment runs, as its target declares it.
    endpoint: Endpoint


@dataclass(frozen=True)
class Succeeded:
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting:
    """Google is working; check again later. `operation` is what to poll."""

    operation: str
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """A transient failure (429, 5xx, timeout): try the same call again after a pause.

    `outputs` are recorded too: what a later run must know, such as when a create whose
    answer never came was sent."""

    error: str
    outputs: dict[str, Any] = field(default_factory=dict)
    # False: a wait that is no failure (a new service account not yet visible), bounded
    # by the executor's own deadline instead of the step's retries.
    counted: bool = True
    # For an uncounted wait: seconds until the next check, when the executor knows the
    # thing it waits on better than the poll backoff does (a model loading for minutes).
    countdown: float | None = None


@dataclass(frozen=True)
class Failed:
    error: str
    hint: str = ""


StepResult = Succeeded | Waiting | Retry | Failed


_EARLY_TOLERANCE = timedelta(milliseconds=100)


def _rollout() -> dict[str, Any]:
    return settings.ROLLOUT


def rollout_backoff(retries: int) -> float:
    """Seconds before the next check of a waiting step, doubling with each retry, capped."""
    cfg = _rollout()
    return float(min(cfg["POLL_SECONDS"] * (2**retries), cfg["POLL_MAX_SECONDS"]))


def rollout_lease_until(now: Any) -> Any:
    """When a step lease taken now runs out, and another worker may take the step over."""
    return now + timedelta(seconds=_rollout()["STEP_LEASE_SECONDS"])


def rollout_check_early(not_before: Any, now: Any) -> bool:
    """Whether a check queued for `not_before` is still in the future (it will come)."""
    return not_before is not None and now + _EARLY_TOLERANCE < not_before


def rollout_next_step(events: Any, *, phase: str, attempt: int, steps: Any) -> Step | None:
    """The first of `steps` without a succeeded step row among `events` (a step-event
    queryset of one deployment or cluster) for this phase and attempt."""
    done = set(
        events.filter(
            kind=EventKind.STEP, phase=phase, attempt=attempt, outcome=Outcome.SUCCEEDED
        ).values_list("step", flat=True)
    )
    return next((step for step in steps if step.key not in done), None)


def rollout_claim(*, deployment_id: int, due: str | None = None) -> StepClaim | None:
    """Take the next step of the deployment's rollout, or finish the rollout.

    Returns None when there is nothing to run now: the task is not the deployment's
    queued advance (`due`, see deployments/dispatch.py), the deployment is not rolling,
    another worker holds the step, or the rollout just finished.
    """
    now = timezone.now()
    with transaction.atomic():
        deployment = _lock_rolling(deployment_id, due)
        if deployment is None:
            return None
        phase = deployment.phase
        plan = plan_for(deployment, phase)
        owner = uuid.uuid4().hex
        in_flight = _in_flight(deployment, phase, now)
        if in_flight is _BUSY:
            return None
        if isinstance(in_flight, DeploymentEvent):
            if not _take_over(in_flight, owner, now):
                return None
            event = in_flight
        else:
            step = _next_step(deployment, plan)
            if step is None:
                _finish(deployment, phase)
                return None
            event = _start(deployment, step, phase, owner, now)
        # Touch the deployment so the reconciler sees it moving.
        Deployment.objects.filter(pk=deployment.pk).update(updated_at=now)
        return StepClaim(
            deployment_id=deployment.pk,
            event_id=event.pk,
            lease_owner=owner,
            step=plan.step(event.step),
            operation=event.operation,
            retries=event.retries,
            started_at=event.started_at,
            outputs=dict(deployment.outputs),
            endpoint=_endpoint(deployment),
        )


# The in-flight step is leased by another worker: leave it alone.
_BUSY = object()


def _lock_rolling(deployment_id: int, due: str | None) -> Deployment | None:
    """The deployment, locked, if the worker drives it; an approved one starts deploying.

    A task that is not the deployment's queued advance (one sent sooner replaced it) steps
    aside; the current one marks the queue empty, so the next schedule sends again.
    """
    deployment = (
        Deployment.objects.select_for_update()
        .select_related("team")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None or not is_current(deployment.advance_due_at, due):
        return None
    if deployment.advance_due_at is not None:
        Deployment.objects.filter(pk=deployment.pk).update(advance_due_at=None)
        deployment.advance_due_at = None
    if deployment.status not in ROLLING_STATES:
        return None
    if deployment.status == Status.APPROVED:
        deployment = deployment_transition(
            deployment=deployment,
            to=Status.DEPLOYING,
            message="Rollout started",
            changes={"attempt": deployment.attempt + 1},
        )
    return deployment


def _in_flight(deployment: Deployment, phase: Phase, now: Any) -> DeploymentEvent | object | None:
    """The step still running or waiting in this phase and attempt, _BUSY, or None."""
    in_flight = DeploymentEvent.objects.filter(
        deployment=deployment, kind=EventKind.STEP, outcome__in=IN_FLIGHT_OUTCOMES
    ).first()
    if in_flight is None:
        return None
    if in_flight.phase == phase and in_flight.attempt == deployment.attempt:
        return in_flight
    # A tear down overtook the rollout: what it was waiting on no longer matters.
    if in_flight.lease_expires_at and in_flight.lease_expires_at > now:
        return _BUSY
    in_flight.outcome = Outcome.ABANDONED
    in_flight.finished_at = now
    in_flight.save(update_fields=["outcome", "finished_at"])
    return None


def _take_over(event: DeploymentEvent, owner: str, now: Any) -> bool:
    """Lease an in-flight step whose lease ran out and whose next check is due."""
    if event.lease_expires_at and event.lease_expires_at > now:
        return False  # another worker is running it
    if rollout_check_early(event.not_before, now):
        # Early (a task sent sooner replaced the check): keep the check's time.
        countdown = (event.not_before - now).total_seconds()
        rollout_schedule(deployment_id=event.deployment_id, countdown=countdown)
        return False
    event.lease_owner = owner
    event.lease_expires_at = rollout_lease_until(now)
    event.save(update_fields=["lease_owner", "lease_expires_at"])
    return True


def _start(
    deployment: Deployment, step: Step, phase: Phase, owner: str, now: Any
) -> DeploymentEvent:
    """The step's row, written with its lease before any Google call."""
    return DeploymentEvent.objects.create(
        deployment=deployment,
        kind=EventKind.STEP,
        phase=phase,
        attempt=deployment.attempt,
        step=step.key,
        outcome=Outcome.RUNNING,
        started_at=now,
        lease_owner=owner,
        lease_expires_at=rollout_lease_until(now),
        message=step.title,
    )


def _next_step(deployment: Deployment, plan: Plan) -> Step | None:
    return rollout_next_step(
        DeploymentEvent.objects.filter(deployment=deployment),
        phase=plan.phase,
        attempt=deployment.attempt,
        steps=plan.steps,
    )


def _endpoint(deployment: Deployment) -> Endpoint:
    return target_for(deployment).endpoint(spec_for(deployment))


def _finish(deployment: Deployment, phase: Phase) -> None:
    if phase == Phase.DEPLOY:
        address = deployment.outputs.get(_endpoint(deployment).address_output, "")
        deployment_transition(
            deployment=deployment,
            to=Status.READY,
            message="Rollout finished; the endpoint answered.",
            changes={"endpoint_url": address},
        )
    else:
        deployment_transition(
            deployment=deployment,
            to=Status.TORN_DOWN,
            message="Everything Hangar created for this deployment is gone.",
            changes={"endpoint_url": ""},
        )


def rollout_record(*, claim: StepClaim, result: StepResult) -> None:
    """Store what a step did and queue whatever comes next. A lost lease records nothing."""
    now = timezone.now()
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=claim.deployment_id)
        event = DeploymentEvent.objects.select_for_update().get(pk=claim.event_id)
        if event.lease_owner != claim.lease_owner or event.outcome not in IN_FLIGHT_OUTCOMES:
            return
        event.lease_owner = ""
        event.lease_expires_at = None
        event.not_before = None
        outputs = getattr(result, "outputs", None)
        if outputs:
            deployment.outputs = {**deployment.outputs, **outputs}
        deployment.save(update_fields=["outputs", "updated_at"])

        if isinstance(result, Succeeded):
            _follow_billing(deployment, claim.step, now)
            event.outcome = Outcome.SUCCEEDED
            event.finished_at = now
            event.error = ""
            event.detail = {
                **event.detail,
                **({"message": result.message} if result.message else {}),
            }
            event.save()
            rollout_schedule(deployment_id=deployment.pk)
        elif isinstance(result, Waiting):
            event.outcome = Outcome.WAITING
            event.operation = result.operation
            event.detail = {
                **event.detail,
                **({"message": result.message} if result.message else {}),
            }
            _schedule_check(event, now, rollout_backoff(0))
        elif isinstance(result, Retry) and not result.counted:
            event.error = result.error
            _schedule_check(
                event, now, result.countdown if result.countdown else rollout_backoff(0)
            )
        elif isinstance(result, Retry) and event.retries < _rollout()["MAX_RETRIES"]:
            event.retries += 1
            event.error = result.error
            _schedule_check(event, now, rollout_backoff(event.retries))
        else:
            _record_failure(deployment, event, result, now)


def _record_failure(
    deployment: Deployment, event: DeploymentEvent, result: Retry | Failed, now: Any
) -> None:
    """A step that failed, or kept failing transiently past the retries, fails the rollout."""
    hint = (
        result.hint
        if isinstance(result, Failed)
        else (
            f"Google kept answering with a transient error after {event.retries} retries; "
            "retry the deployment later."
        )
    )
    event.outcome = Outcome.FAILED
    event.finished_at = now
    event.error = result.error
    event.save()
    if deployment.status in (Status.DEPLOYING, Status.TEARING_DOWN):
        deployment_transition(
            deployment=deployment,
            to=Status.FAILED,
            message=f"{event.step} failed",
            changes={
                "failure_step": event.step,
                "failure_message": result.error,
                "failure_hint": hint,
            },
        )


def _follow_billing(deployment: Deployment, step: Step, now: Any) -> None:
    """Start the spend clock when the billed resource exists; stop it when it is gone."""
    if step.billing == "starts" and deployment.cost_accrued_until is None:
        deployment.cost_accrued_until = now
        deployment.save(update_fields=["cost_accrued_until", "updated_at"])
    elif step.billing == "ends" and deployment.cost_accrued_until is not None:
        spend_accrue_deployment(deployment=deployment, until=now)
        deployment.cost_accrued_until = None
        deployment.save(update_fields=["cost_accrued_until", "updated_at"])


def _schedule_check(event: DeploymentEvent, now: Any, countdown: float) -> None:
    event.not_before = now + timedelta(seconds=countdown)
    event.save()
    rollout_schedule(deployment_id=event.deployment_id, countdown=countdown)


def rollout_stalled_ids() -> list[int]:
    """Rolling deployments whose task was lost.

    - None queued and nothing moved for STALL_SECONDS: a worker died mid-step (its task
      had started, so nothing else will come).
    - The queued one overdue by LOST_TASK_SECONDS while no rollout at all moved for
      STALL_SECONDS: the queue is not being worked (a broker restart, the worker holding it
      gone). While other rollouts move, an overdue task is waiting its turn in a long
      queue, and another one would only lengthen it.
    """
    now = timezone.now()
    stalled = now - timedelta(seconds=_rollout()["STALL_SECONDS"])
    lost = now - timedelta(seconds=_rollout()["LOST_TASK_SECONDS"])
    rolling = Deployment.objects.filter(status__in=[s.value for s in ROLLING_STATES])
    idle = Q(advance_due_at__isnull=True, updated_at__lt=stalled)
    if not rolling.filter(updated_at__gte=stalled).exists():
        idle |= Q(advance_due_at__lt=lost)
    return list(rolling.filter(idle).values_list("pk", flat=True))


def rollout_requeue_stalled() -> int:
    """Send a fresh advance for every rollout whose task was lost; how many were."""
    stalled = rollout_stalled_ids()
    for deployment_id in stalled:
        rollout_requeue_lost(deployment_id=deployment_id)
    return len(stalled)
