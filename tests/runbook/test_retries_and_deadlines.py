"""The ledger's two bounds on a step: transient errors are retried per call (the count
starts again once the call gets through), and every wait has a deadline, after which the
step fails naming what it waited for and its last known state. Recorded on a cluster's
plan (any owner's would do): no Google call is made here, the results are handed in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clusters.choices import ClusterPhase, ClusterStatus
from clusters.models import Cluster
from clusters.rollout import plan_for_cluster
from runbook import ledger
from runbook.models import Outcome, StepRun
from runbook.plan import deadline_of
from runbook.results import Failed, Retry, Waiting

pytestmark = pytest.mark.django_db

DELETE_A = "DELETE /storage/v1/b/weights/o/a"
DELETE_B = "DELETE /storage/v1/b/weights/o/b"


@pytest.fixture
def cluster():
    return Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="bounds",
        status=ClusterStatus.CREATING,
        attempt=1,
        owned_by_hangar=True,
    )


@pytest.fixture
def two_retries(settings):
    settings.ROLLOUT = {**settings.ROLLOUT, "MAX_RETRIES": 2, "DEADLINE_SCALE": 1.0}


def _record(cluster, result):
    """Claim the cluster's step in flight (its next check made due now) and record `result`."""
    StepRun.objects.filter(owner_kind="cluster", owner_id=cluster.pk).update(not_before=None)
    Cluster.objects.filter(pk=cluster.pk).update(advance_due_at=None)
    claim = ledger.claim("cluster", cluster.pk)
    assert claim is not None
    ledger.record(claim=claim, result=result)
    cluster.refresh_from_db()
    return StepRun.objects.get(pk=claim.run_id)


def test_retries_count_per_call_and_start_again_when_a_call_gets_through(cluster, two_retries):
    for _ in range(2):
        run = _record(cluster, Retry("503 ServiceUnavailable", call=DELETE_A))
    assert run.detail["call_retries"] == 2 and run.outcome == Outcome.RUNNING
    # A fails no more: the step got past it to B, which starts its own count.
    run = _record(cluster, Retry("503 ServiceUnavailable", call=DELETE_B))
    assert run.detail["call_retries"] == 1 and run.outcome == Outcome.RUNNING
    assert run.retries == 3  # the step's total, for the record
    run = _record(cluster, Retry("503 ServiceUnavailable", call=DELETE_B))
    assert cluster.status == ClusterStatus.CREATING
    # The third failure in a row of the same call is one too many.
    run = _record(cluster, Retry("503 ServiceUnavailable", call=DELETE_B))
    assert run.outcome == Outcome.FAILED
    assert cluster.status == ClusterStatus.FAILED
    assert DELETE_B in cluster.failure_hint and "2 retries in a row" in cluster.failure_hint


def test_a_check_that_got_through_starts_the_count_again(cluster, two_retries):
    for _ in range(2):
        _record(cluster, Retry("503", call=DELETE_A))
    run = _record(cluster, Waiting("op", "GKE reports the operation RUNNING."))
    assert "call_retries" not in run.detail
    for _ in range(2):
        run = _record(cluster, Retry("503", call=DELETE_A))
    assert run.outcome == Outcome.WAITING and cluster.status == ClusterStatus.CREATING


def test_an_uncounted_wait_spends_no_retries(cluster, two_retries):
    for _ in range(5):
        run = _record(cluster, Retry("not visible yet", counted=False))
    assert run.retries == 0 and "call_retries" not in run.detail
    assert cluster.status == ClusterStatus.CREATING


def _started(cluster, seconds_ago):
    StepRun.objects.filter(owner_kind="cluster", owner_id=cluster.pk).update(
        started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def test_a_wait_past_its_declared_deadline_fails_naming_it_and_its_last_state(cluster, settings):
    settings.ROLLOUT = {**settings.ROLLOUT, "DEADLINE_SCALE": 1.0}
    first = _record(cluster, Waiting("ops/operation-1", "GKE reports the operation RUNNING."))
    # remove_failed_cluster: it declares GKE's cluster operation deadline.
    step = plan_for_cluster(cluster, ClusterPhase.CREATE).step(first.step)
    declared = deadline_of(step)
    assert declared is not None
    _started(cluster, declared.seconds - 5)
    _record(cluster, Waiting("ops/operation-1", "GKE reports the operation RUNNING."))
    assert cluster.status == ClusterStatus.CREATING  # within its deadline: waits on

    _started(cluster, declared.seconds + 5)
    run = _record(cluster, Waiting("ops/operation-1", "GKE reports the operation RUNNING."))
    assert run.outcome == Outcome.FAILED
    assert cluster.status == ClusterStatus.FAILED
    message = cluster.failure_message
    assert step.title in message and "ops/operation-1" in message
    assert "past its deadline of 60 minutes" in message
    assert declared.reason in message
    assert "Last known state: GKE reports the operation RUNNING." in message


def test_a_step_with_no_declared_deadline_has_the_engines(cluster, settings):
    settings.ROLLOUT = {**settings.ROLLOUT, "STEP_DEADLINE_SECONDS": 30.0, "DEADLINE_SCALE": 1.0}
    _record(cluster, Retry("x", counted=False))
    StepRun.objects.filter(owner_kind="cluster", owner_id=cluster.pk).update(
        step="read_cluster"  # a step that declares none
    )
    _started(cluster, 31)
    _record(cluster, Waiting("", "GKE is still provisioning the cluster."))
    assert cluster.status == ClusterStatus.FAILED
    assert "ROLLOUT_STEP_DEADLINE_SECONDS" in cluster.failure_message
    assert "GKE is still provisioning the cluster." in cluster.failure_message


def test_a_failure_past_the_deadline_keeps_its_own_reason(cluster, settings):
    settings.ROLLOUT = {**settings.ROLLOUT, "DEADLINE_SCALE": 1.0}
    _record(cluster, Waiting("ops/operation-1"))
    _started(cluster, 10 * 3600)
    _record(cluster, Failed("GKE reported: RESOURCE_EXHAUSTED: out of CPUS", "quota"))
    assert cluster.failure_message == "GKE reported: RESOURCE_EXHAUSTED: out of CPUS"


def test_deadlines_scale_for_tests(cluster, settings):
    settings.ROLLOUT = {**settings.ROLLOUT, "DEADLINE_SCALE": 0.001}
    _record(cluster, Waiting("ops/operation-1", "RUNNING"))
    _started(cluster, 4)  # past 3600 s × 0.001
    _record(cluster, Waiting("ops/operation-1", "RUNNING"))
    assert cluster.status == ClusterStatus.FAILED
    assert "deadline of 4 s" in cluster.failure_message
