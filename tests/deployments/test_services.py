"""The lifecycle services: who may do what, and which moves are legal."""

import pytest

from deployments.choices import Status
from deployments.models import Deployment
from deployments.services import (
    deployment_approve,
    deployment_reject,
    deployment_request,
    deployment_retry,
    deployment_tear_down,
    deployment_transition,
)
from portal.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from runbook.models import Outcome, StepRun

pytestmark = pytest.mark.django_db

SEED_000 = {"model": "gemma3-4b", "region": "europe-west1"}


@pytest.fixture
def no_queue(monkeypatch):
    """Capture what would be queued instead of needing a broker."""
    sent = []
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task",
        lambda name, args, countdown: sent.append((name, args, countdown)),
    )
    return sent


def request(team, user, slug="gemma-demo", **values):
    return deployment_request(
        team=team,
        requested_by=user,
        target="cloud-run-ollama",
        slug=slug,
        values={**SEED_000, **values},
    )


def test_request_starts_pending_with_an_event(team, deployer):
    deployment = request(team, deployer)
    assert deployment.status == Status.PENDING_APPROVAL
    assert deployment.spec["cpu"] == 8
    [event] = deployment.events.all()
    assert (event.kind, event.to_status, event.actor) == (
        "transition",
        Status.PENDING_APPROVAL,
        deployer,
    )


def test_members_cannot_request(team, member):
    with pytest.raises(PermissionDenied, match="Deployer role"):
        request(team, member)


def test_invalid_request_names_fields(team, deployer):
    with pytest.raises(ValidationFailed) as caught:
        request(team, deployer, slug="Bad_Name", concurrency=9)
    assert set(caught.value.fields) == {"slug", "concurrency"}
    assert not Deployment.objects.exists()


def test_live_slug_is_unique_but_reusable_after_tear_down(team, deployer, approver, no_queue):
    first = request(team, deployer)
    with pytest.raises(ValidationFailed) as caught:
        request(team, deployer)
    assert "already called gemma-demo" in caught.value.fields["slug"][0]
    deployment_tear_down(deployment=first, by=deployer)
    assert request(team, deployer).status == Status.PENDING_APPROVAL


def test_unavailable_target_is_refused(team, deployer):
    with pytest.raises(ValidationFailed, match="cannot deploy to no-such-target yet"):
        deployment_request(
            team=team,
            requested_by=deployer,
            target="no-such-target",
            slug="x1",
            values=SEED_000,
        )


def test_approve_queues_the_rollout_after_commit(
    team, deployer, approver, no_queue, django_capture_on_commit_callbacks
):
    deployment = request(team, deployer)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_approve(deployment=deployment, by=approver, reason="fits")
    assert deployment.status == Status.APPROVED
    assert (deployment.decided_by, deployment.decision_reason) == (approver, "fits")
    # The task carries its due time: the deployment's one queued advance (dispatch.py).
    deployment.refresh_from_db()
    assert no_queue == [
        (
            "workers.tasks.advance",
            ["deployment", deployment.pk, deployment.advance_due_at.isoformat()],
            0,
        )
    ]


def test_approve_is_idempotent(team, deployer, approver, no_queue):
    deployment = request(team, deployer)
    deployment_approve(deployment=deployment, by=approver)
    again = deployment_approve(deployment=deployment, by=approver)
    assert again.status == Status.APPROVED
    assert deployment.events.filter(to_status=Status.APPROVED).count() == 1


def test_only_platform_admins_approve_or_reject(team, deployer, team_admin):
    deployment = request(team, deployer)
    for user in (deployer, team_admin):
        with pytest.raises(PermissionDenied):
            deployment_approve(deployment=deployment, by=user)
        with pytest.raises(PermissionDenied):
            deployment_reject(deployment=deployment, by=user, reason="no")


def test_reject_needs_a_reason_and_is_final(team, deployer, approver):
    deployment = request(team, deployer)
    with pytest.raises(ValidationFailed):
        deployment_reject(deployment=deployment, by=approver, reason=" ")
    deployment = deployment_reject(deployment=deployment, by=approver, reason="No L4 quota left")
    assert deployment.status == Status.REJECTED
    with pytest.raises(InvalidTransition):
        deployment_approve(deployment=deployment, by=approver)


def test_withdrawing_a_pending_request_creates_nothing(team, deployer, no_queue):
    deployment = deployment_tear_down(deployment=request(team, deployer), by=deployer)
    assert deployment.status == Status.TORN_DOWN
    assert no_queue == []


def test_tear_down_of_an_approved_deployment_queues_the_worker(
    team, deployer, approver, no_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deployment = deployment_approve(deployment=request(team, deployer), by=approver)
        deployment = deployment_tear_down(deployment=deployment, by=deployer, reason="done")
    assert deployment.status == Status.TEARING_DOWN
    # The approval's task is still queued and now tears down: no second one is sent.
    assert [args[:2] for _, args, _ in no_queue] == [["deployment", deployment.pk]]


def test_a_tear_down_reason_has_the_same_bound_as_a_decision(team, deployer, approver, no_queue):
    deployment = deployment_approve(deployment=request(team, deployer), by=approver)
    with pytest.raises(ValidationFailed) as refused:
        deployment_tear_down(deployment=deployment, by=deployer, reason="x" * 2001)
    assert refused.value.fields == {"reason": ["At most 2000 characters."]}
    assert Deployment.objects.get(pk=deployment.pk).status == Status.APPROVED
    deployment = deployment_tear_down(deployment=deployment, by=deployer, reason="x" * 2000)
    assert deployment.status == Status.TEARING_DOWN


def test_other_teams_cannot_tear_down(team, deployer, outsider):
    with pytest.raises(PermissionDenied):
        deployment_tear_down(deployment=request(team, deployer), by=outsider)


def test_transition_refuses_illegal_moves_and_records_legal_ones(team, deployer):
    deployment = request(team, deployer)
    with pytest.raises(InvalidTransition, match="pending approval; it cannot become ready"):
        deployment_transition(deployment=deployment, to=Status.READY)
    assert Deployment.objects.get(pk=deployment.pk).status == Status.PENDING_APPROVAL


def test_retry_resumes_a_failed_rollout(team, deployer, approver, no_queue):
    deployment = deployment_approve(deployment=request(team, deployer), by=approver)
    deployment = deployment_transition(deployment=deployment, to=Status.DEPLOYING)
    deployment = deployment_transition(
        deployment=deployment, to=Status.FAILED, changes={"failure_step": "build_image"}
    )
    deployment = deployment_retry(deployment=deployment, by=deployer)
    assert deployment.status == Status.DEPLOYING
    assert deployment.failure_step == ""


def test_database_allows_one_step_in_flight_per_deployment(team, deployer):
    from django.db import IntegrityError, transaction

    deployment = request(team, deployer)
    StepRun.objects.create(
        owner_kind="deployment", owner_id=deployment.pk, step="a", outcome=Outcome.RUNNING
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StepRun.objects.create(
            owner_kind="deployment", owner_id=deployment.pk, step="b", outcome=Outcome.WAITING
        )
    StepRun.objects.create(
        owner_kind="deployment", owner_id=deployment.pk, step="c", outcome=Outcome.SUCCEEDED
    )
