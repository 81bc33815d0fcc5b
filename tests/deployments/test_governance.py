"""Approval policy, quotas, budgets, spend and expiry, through the services."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from deployments.choices import Status
from deployments.models import CostAccrual, Deployment, ProjectGpuCapacity, TeamGpuQuota
from deployments.pricing.estimator import cents
from deployments.selectors import spend_month_to_date
from deployments.services import deployment_request
from deployments.services.expiry import expiry_run
from deployments.services.policy import Outcome, approval_decision
from deployments.services.spend import spend_accrue
from portal.exceptions import ValidationFailed
from portal.models import AuditEvent, Notification

SEED_000 = {"model": "gemma3-4b", "region": "europe-west1"}
SEED_000_MONTHLY_AT_8H = Decimal("345.76")  # see test_pricing.py


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task",
        lambda name, args, countdown: sent.append(args),
    )
    return sent


def request(team, user, slug="gemma-gov", **values):
    return deployment_request(
        team=team,
        requested_by=user,
        target="cloud-run-ollama",
        slug=slug,
        values={**SEED_000, **values},
        justification="eval run",
    )


@pytest.mark.parametrize(
    ("fits_team", "under_limit", "over_budget", "over_project", "expected"),
    [
        (fits_team, under_limit, over_budget, over_project, expected)
        for fits_team in (True, False)
        for under_limit in (True, False)
        for over_budget in (True, False)
        for over_project in (True, False)
        for expected in [
            Outcome.REFUSED
            if over_project
            else Outcome.AUTO_APPROVED
            if fits_team and under_limit and not over_budget
            else Outcome.NEEDS_APPROVAL
        ]
    ],
)
def test_policy_table(fits_team, under_limit, over_budget, over_project, expected):
    decision = approval_decision(
        fits_project=not over_project,
        fits_team_quota=fits_team,
        under_cost_limit=under_limit,
        within_budget=not over_budget,
    )
    assert decision.outcome == expected
    failed = [not fits_team, not under_limit, over_budget].count(True)
    if expected == Outcome.NEEDS_APPROVAL:
        assert len(decision.reasons) == failed


def test_the_policy_holds_end_to_end(team, deployer, db):
    """Auto-approval, approval needed and refusal through deployment_request itself."""
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=2)
    ProjectGpuCapacity.objects.create(region="europe-west1", gpu_type="nvidia-l4", max_gpus=3)
    team.auto_approve_monthly_limit = Decimal("400")
    team.save()

    auto = request(team, deployer, slug="fits")  # 1 L4 (1 of 2), $345.76/month < $400
    assert auto.status == Status.APPROVED
    assert auto.auto_approved
    assert auto.decision_reason.startswith("Auto-approved: within the team's nvidia-l4 quota")

    over_quota = request(team, deployer, slug="big", max_instances=2)  # 1 + 2 > 2, 3 of 3
    assert over_quota.status == Status.PENDING_APPROVAL
    assert not over_quota.auto_approved
    assert "over the team's nvidia-l4 quota (3 of 2 with this request)" in (
        over_quota.events.first().message
    )

    with pytest.raises(ValidationFailed) as refused:
        request(team, deployer, slug="one-more")
    assert refused.value.message == (
        "The project can hold 3 × nvidia-l4 in europe-west1; 3 are taken, and this request needs 1."
    )
    assert refused.value.extra["quota"]["project_after"] == 4
    assert not Deployment.objects.filter(slug="one-more").exists()


def test_cost_over_the_limit_needs_approval(team, deployer, db):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=8)
    team.auto_approve_monthly_limit = Decimal("300")
    team.save()
    deployment = request(team, deployer)
    assert deployment.status == Status.PENDING_APPROVAL
    assert "$345.76/month is over the team's auto-approval limit of $300.00/month" in (
        deployment.events.first().message
    )
    assert (
        Decimal(deployment.estimate["monthly"]).quantize(Decimal("0.01")) == SEED_000_MONTHLY_AT_8H
    )


def test_budget_overrun_needs_approval(team, deployer, db):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=8)
    team.auto_approve_monthly_limit = Decimal("1000")
    team.monthly_budget = Decimal("1")
    team.save()
    deployment = request(team, deployer)
    assert deployment.status == Status.PENDING_APPROVAL
    assert "against a budget of $1.00" in deployment.events.first().message


def test_estimate_is_stored_with_its_price_version_and_not_recomputed(team, deployer, approver, db):
    from deployments.services.prices import price_table_active, price_table_update

    deployment = request(team, deployer)
    stored = dict(deployment.estimate)
    assert stored["price_version"] == "2026-12-08"
    data = dict(price_table_active().data)
    data["version"] = "2026-12-01"
    data["cloud_run"] = {**data["cloud_run"], "vcpu_per_second": "0.001"}
    price_table_update(data=data, by=approver, reason="new list prices")
    deployment.refresh_from_db()
    assert deployment.estimate == stored
    change = AuditEvent.objects.get(action="prices.update")
    assert change.before["version"] == "2026-12-08"
    assert change.after["version"] == "2026-12-01"
    assert change.actor == approver


def test_auto_approval_and_decisions_notify_the_requester(team, deployer, approver, db):
    from deployments.services import deployment_reject

    deployment = request(team, deployer)
    deployment_reject(deployment=deployment, by=approver, reason="No budget this quarter")
    note = Notification.objects.get(user=deployer)
    assert "rejected: No budget this quarter" in note.message
    assert note.link.endswith(f"/deployments/{deployment.pk}/")


def test_every_state_change_is_audited(team, deployer, approver, db):
    from deployments.services import deployment_approve

    deployment = deployment_approve(deployment=request(team, deployer), by=approver, reason="ok")
    actions = list(
        AuditEvent.objects.filter(object_id=str(deployment.pk)).values_list("action", "reason")
    )
    assert ("deployment.requested", "eval run") in actions
    assert ("deployment.approved", "ok") in actions
    approved = AuditEvent.objects.get(action="deployment.approved")
    assert (approved.before, approved.after) == (
        {"status": "pending_approval"},
        {"status": "approved"},
    )


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_for_the_last_gpu_cannot_both_get_it(team, deployer):
    """Postgres row locks serialise the quota check; the loser is refused with the numbers."""
    ProjectGpuCapacity.objects.create(region="europe-west1", gpu_type="nvidia-l4", max_gpus=1)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(slug):
        try:
            barrier.wait(timeout=5)
            results[slug] = request(team, deployer, slug=slug).status
        except ValidationFailed as exc:
            results[slug] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"race-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, results.values())) == [
        "The project can hold 1 × nvidia-l4 in europe-west1; 1 are taken, and this request needs 1.",
        Status.PENDING_APPROVAL,
    ]
    assert Deployment.objects.count() == 1


def test_spend_accrues_while_the_billing_clock_runs(team, deployer, db):
    deployment = request(team, deployer)
    start = timezone.now() - timedelta(hours=2)
    Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=start)
    assert spend_accrue(now=start + timedelta(hours=2)) == 1
    accrual = CostAccrual.objects.get()
    # 2 h at the average hourly rate of the approved estimate: 345.7572 / 730 × 2
    assert cents(accrual.amount) == Decimal("0.95")
    assert cents(spend_month_to_date(team=team, now=start + timedelta(hours=2))) == Decimal("0.95")
    assert spend_accrue(now=start + timedelta(hours=2)) == 0  # nothing new to add


def test_expiry_warns_before_and_tears_down_after(
    team, deployer, approver, db, django_capture_on_commit_callbacks
):
    from deployments.services import deployment_approve

    team.default_ttl_hours = 48
    team.save()
    deployment = deployment_approve(deployment=request(team, deployer), by=approver)
    assert deployment.expires_at is not None
    now = timezone.now()

    assert expiry_run(now=now).warned == 0
    run = expiry_run(now=now + timedelta(hours=30))  # 18 h left: inside the 24 h warning
    assert (run.warned, run.expired) == (1, 0)
    assert "expires in about 18 h" in Notification.objects.filter(user=deployer).first().message
    assert expiry_run(now=now + timedelta(hours=31)).warned == 0  # warned once

    with django_capture_on_commit_callbacks(execute=True):
        run = expiry_run(now=now + timedelta(hours=49))
    assert run.expired == 1
    deployment.refresh_from_db()
    assert deployment.status == Status.TEARING_DOWN
    last = deployment.events.last()
    assert last.message.startswith("Expired at ")
    assert AuditEvent.objects.filter(
        action="deployment.tearing_down", reason__startswith="Expired"
    ).exists()
    assert [m.subject for m in mail.outbox] == [f"[Hangar] {deployment.slug} expired"]


def test_the_policy_writes_money_as_the_pages_do(team, deployer, db):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=2)
    team.auto_approve_monthly_limit = Decimal("1037.27")
    team.save()

    auto = request(team, deployer, slug="thousands")

    assert "$345.76/month under the $1,037.27 limit" in auto.decision_reason
