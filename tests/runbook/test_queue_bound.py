"""The queue holds at most one pending advance per deployment: schedules while one is
queued send nothing, the reconciler re-sends only a task that is lost, and a task that was
replaced by a sooner one steps aside without touching the rollout."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.choices import Status
from deployments.models import Deployment
from deployments.services.rollout import rollout_claim, rollout_schedule
from tests.factories import DeploymentFactory
from workers.tasks import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task",
        lambda name, args, countdown: calls.append((args[1], args[2], countdown)),
    )
    return calls


def _rolling(n):
    return [DeploymentFactory(status=Status.DEPLOYING, attempt=1) for _ in range(n)]


def test_a_second_schedule_while_one_is_queued_sends_nothing(
    sent, django_capture_on_commit_callbacks
):
    [deployment] = _rolling(1)
    with django_capture_on_commit_callbacks(execute=True):
        rollout_schedule(deployment_id=deployment.pk, countdown=5)
        rollout_schedule(deployment_id=deployment.pk, countdown=5)
        rollout_schedule(deployment_id=deployment.pk, countdown=30)
    assert len(sent) == 1


def test_a_sooner_schedule_replaces_the_queued_one_which_then_steps_aside(
    sent, django_capture_on_commit_callbacks
):
    [deployment] = _rolling(1)
    with django_capture_on_commit_callbacks(execute=True):
        rollout_schedule(deployment_id=deployment.pk, countdown=60)  # a check in a minute
        rollout_schedule(deployment_id=deployment.pk, countdown=0)  # a tear down, now
    (_, later, _), (_, sooner, _) = sent
    assert rollout_claim(deployment_id=deployment.pk, due=later) is None
    deployment.refresh_from_db()
    assert deployment.advance_due_at is not None  # the stale task left the marker alone
    assert rollout_claim(deployment_id=deployment.pk, due=sooner) is not None
    deployment.refresh_from_db()
    assert deployment.advance_due_at is None


def test_the_reconciler_never_adds_to_a_queued_or_moving_rollout(
    sent, django_capture_on_commit_callbacks, settings
):
    deployments = _rolling(20)
    with django_capture_on_commit_callbacks(execute=True):
        for d in deployments:
            rollout_schedule(deployment_id=d.pk)
    assert len(sent) == 20
    # Every rollout idle far past the stall threshold, its task still in a long queue.
    long_ago = timezone.now() - timedelta(seconds=settings.ROLLOUT["STALL_SECONDS"] * 10)
    Deployment.objects.update(updated_at=long_ago)
    for _ in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            reconcile()
    assert len(sent) == 20


def test_an_overdue_task_is_not_lost_while_other_rollouts_move(
    sent, django_capture_on_commit_callbacks, settings
):
    waiting, moving = _rolling(2)
    overdue = timezone.now() - timedelta(seconds=settings.ROLLOUT["LOST_TASK_SECONDS"] + 1)
    Deployment.objects.filter(pk=waiting.pk).update(advance_due_at=overdue)
    Deployment.objects.filter(pk=moving.pk).update(advance_due_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        reconcile()
    assert sent == []  # the workers are busy with a long queue, not missing a task


def test_the_reconciler_replaces_lost_tasks_once(
    sent, django_capture_on_commit_callbacks, settings
):
    idle, lost, fine = _rolling(3)
    stalled = timezone.now() - timedelta(seconds=settings.ROLLOUT["STALL_SECONDS"] + 1)
    overdue = timezone.now() - timedelta(seconds=settings.ROLLOUT["LOST_TASK_SECONDS"] + 1)
    # Nothing has moved for a while: the queue is not being worked.
    Deployment.objects.update(updated_at=stalled)
    Deployment.objects.filter(pk=lost.pk).update(advance_due_at=overdue)
    Deployment.objects.filter(pk=fine.pk).update(advance_due_at=timezone.now())
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            reconcile()
    assert sorted(d for d, _, _ in sent) == sorted([idle.pk, lost.pk])
