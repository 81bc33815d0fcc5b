"""A worker lost at every step boundary of every plan: before the step's Google call, and
after the call but before its result is recorded. The next worker (once the lease runs
out) finishes the rollout, and Google holds nothing twice (read from the sandbox's state).

Plans come from tests/plan_variants.py, so a new target is covered without touching this
file. A real SIGKILL of a real worker is in test_rollout_cloud_run_ollama.py; this walks
every boundary in this process to stay within CI's time.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.services.rollout import rollout_claim, rollout_record
from runbook.models import IN_FLIGHT_OUTCOMES, StepRun
from runbook.runner import run_step
from tests.factories import TeamFactory
from tests.plan_variants import plan_of, plan_variants
from tests.runbook.rollout_driver import deployment_for, duplicates, tear_down

pytestmark = pytest.mark.django_db

VARIANTS = dict(plan_variants())


def _lease_runs_out(deployment):
    StepRun.objects.filter(
        owner_kind="deployment", owner_id=deployment.pk, outcome__in=IN_FLIGHT_OUTCOMES
    ).update(lease_expires_at=timezone.now() - timedelta(seconds=1), not_before=None)
    Deployment.objects.filter(pk=deployment.pk).update(advance_due_at=None)


def _roll_with_crashes(deployment, until, timeout=90):
    """Drive the rollout; the first time each step is claimed the worker is lost before
    the call, the second time after it. Returns the boundaries crashed at."""
    crashed = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if deployment.status == until:
            return crashed
        assert deployment.status != Status.FAILED, deployment.failure_message
        _lease_runs_out(deployment)
        claim = rollout_claim(deployment_id=deployment.pk)
        if claim is None:
            continue
        event = StepRun.objects.get(pk=claim.run_id)
        before, after = (
            (event.phase, claim.step.key, "before"),
            (event.phase, claim.step.key, "after"),
        )
        if before not in crashed:
            crashed.append(before)  # lost before the call: nothing reached Google
        elif after not in crashed:
            crashed.append(after)
            run_step(claim)  # the call reached Google; its result is lost with the worker
        else:
            rollout_record(claim=claim, result=run_step(claim))
        time.sleep(0.01)
    raise AssertionError(f"{deployment.slug} is still {deployment.status}")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_worker_lost_at_every_step_boundary_is_replaced_without_duplicates(variant, sandbox):
    sandbox.config(operation_delay=0.05, model_load_delay=0.05, account_propagation_delay=0.3)
    spec = VARIANTS[variant]
    deployment = deployment_for(variant, spec, TeamFactory(slug="crash-team"), "crash-demo")

    crashed = _roll_with_crashes(deployment, Status.READY)
    crashed += _roll_with_crashes(tear_down(deployment), Status.TORN_DOWN)

    expected = [
        (phase.value, step.key, when)
        for phase in (Phase.DEPLOY, Phase.TEARDOWN)
        for step in plan_of(variant, spec, phase).steps
        for when in ("before", "after")
    ]
    assert sorted(crashed) == sorted(expected)
    state = sandbox.state()
    assert duplicates(state) == {}
    assert state["services"] == [] and state["buckets"] == []
    assert state["serviceAccounts"] == []
