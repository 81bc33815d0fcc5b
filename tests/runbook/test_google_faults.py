"""Every Google call of every plan meets each fault Google really produces, and the rollout
still ends as it should, with no resource made twice (read from the sandbox's state).

The calls are not listed here: a clean rollout of each plan variant (tests/plan_variants.py)
is recorded by the sandbox, and each distinct call it made gets the fault. A new target, a
new variant or a new call is covered without touching this file. The rollout is driven in
this process (tests/runbook/rollout_driver.py) so that the whole matrix fits CI's time.
"""

import re

import pytest

from deployments.choices import Status
from deployments.plans import ref_for
from deployments.targets.gke.names import owner_tag
from tests.factories import TeamFactory
from tests.plan_variants import plan_variants
from tests.runbook.rollout_driver import deployment_for, drive, duplicates, google_calls, tear_down

pytestmark = pytest.mark.django_db

VARIANTS = dict(plan_variants())
# Held longer than the clients wait (HTTP_TIMEOUT_SECONDS below).
HELD = 0.8
TRANSIENT = {
    "rate_limit": {"status": 429},  # ErrorInfo RATE_LIMIT_EXCEEDED
    "unavailable": {"status": 503},
    "timeout_after_google_handled_it": {"kind": "delay_after", "seconds": HELD},
    "delay_before_google_handles_it": {"kind": "delay_before", "seconds": HELD},
}
PERMANENT = {
    "permission_denied": ({"status": 403}, "roles/"),
    "allocation_quota": ({"status": 429, "reason": "RESOURCE_QUOTA_EXCEEDED"}, "Quotas page"),
}
# A cluster's Kubernetes API meets the same faults, but has no allocation quota of Google's
# to run out of (a namespace's ResourceQuota is test_kube_workloads.py's).
NOT_ON_KUBERNETES = {"allocation_quota"}
KUBE_HELD = {"timeout_after_google_handled_it"}
WAIT_READS = re.compile(r"/(pods|events)\$$")
_CALLS: dict[str, dict[str, list[tuple[str, str]]]] = {}
# The recorded deployment's tag: what a GKE plan names its objects with (gke/names.py), a
# hash of team, slug and id, so another deployment's calls have its own in their place.
_TAGS: dict[str, str] = {}


@pytest.fixture
def fast(settings, sandbox):
    sandbox.config(operation_delay=0.05, model_load_delay=0.05, account_propagation_delay=0.3)
    settings.GCP = {**settings.GCP, "HTTP_TIMEOUT_SECONDS": 0.5}
    # Above HELD - HTTP_TIMEOUT_SECONDS: a late create lands while the step still looks.
    settings.ROLLOUT = {**settings.ROLLOUT, "LATE_REQUEST_SECONDS": 1.5, "MAX_RETRIES": 10}
    return sandbox


def _slug(variant):
    return "flt-" + variant.replace("#", "-")[-20:].strip("-")


def _calls(variant, sandbox, fault):
    """Every call a clean deploy and tear down of this variant makes (recorded once): to
    Google's APIs, and to the Kubernetes API of its cluster if it has one."""
    if variant not in _CALLS:
        deployment = deployment_for(
            variant, VARIANTS[variant], TeamFactory(slug="fault-team"), _slug(variant)
        )
        sandbox.clear_requests()  # saving the team's token is no call of the plan
        drive(deployment, until=Status.READY)
        drive(tear_down(deployment), until=Status.TORN_DOWN)
        log = sandbox.requests()
        # The wait reads pods and events only while the Deployment is not yet Available:
        # a run slowed by faults may never make them, so no fault is set on them.
        kube = [c for c in google_calls(log, kind="kube") if not WAIT_READS.search(c[1])]
        _CALLS[variant] = {"api": google_calls(log), "kube": kube}
        _TAGS[variant] = owner_tag(ref_for(deployment))
        deployment.delete()
        sandbox.reset()
        sandbox.config(operation_delay=0.05, model_load_delay=0.05, account_propagation_delay=0.3)
    calls = _CALLS[variant]
    kube = [] if fault in NOT_ON_KUBERNETES else calls["kube"]
    if "kind" in TRANSIENT.get(fault, {}):
        # A held reply matters where the call changed something (the change lands after
        # the client gave up); a held read is only a slow one, met already by the errors.
        # Kubernetes reads are many (every wait polls), so only its writes are held, and
        # once: a server-side apply or a delete that landed late and one whose reply was
        # lost take the same path (a timeout, then the same idempotent call again).
        kube = [c for c in kube if c[0] != "GET"] if fault in KUBE_HELD else []
    return calls["api"] + kube


def _fault_every_call(sandbox, calls, fault, variant, deployment):
    """A fault on each recorded call, as this deployment makes it (its own tag)."""
    tag = owner_tag(ref_for(deployment))
    for method, path in calls:
        path = path.replace(_TAGS[variant], tag)
        sandbox.add_fault(method=method, path=path, times=1, **fault)


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_transient_fault_at_every_call_is_survived(variant, fault, fast):
    calls = _calls(variant, fast, fault)
    deployment = deployment_for(
        variant, VARIANTS[variant], TeamFactory(slug="fault-team"), _slug(variant)
    )
    _fault_every_call(fast, calls, TRANSIENT[fault], variant, deployment)

    assert drive(deployment, until=Status.READY) == []
    assert drive(tear_down(deployment), until=Status.TORN_DOWN) == []

    state = fast.state()
    assert duplicates(state) == {}
    assert state["services"] == [] and state["buckets"] == []
    assert state["serviceAccounts"] == []
    unmet = [(f["method"], f["path"]) for f in state["faults"]]
    if "kind" not in TRANSIENT[fault]:
        # An error changes nothing, so every call is made again. After a lost reply the
        # step may find its work done and skip a call (an operation it no longer polls).
        assert unmet == [], f"calls the rollout no longer made: {unmet}"


@pytest.mark.parametrize("fault", sorted(PERMANENT))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_permanent_fault_at_every_call_fails_with_what_to_do_and_retry_resumes(
    variant, fault, fast
):
    calls = _calls(variant, fast, fault)
    deployment = deployment_for(
        variant, VARIANTS[variant], TeamFactory(slug="fault-team"), _slug(variant)
    )
    spec, hint = PERMANENT[fault]
    _fault_every_call(fast, calls, spec, variant, deployment)

    failures = drive(deployment, until=Status.READY, retry_failed=True)
    failures += drive(tear_down(deployment), until=Status.TORN_DOWN, retry_failed=True)

    assert failures, "no call met its fault"
    for failed in failures:
        assert hint in failed.failure_hint, (failed.failure_step, failed.failure_hint)
    state = fast.state()
    assert duplicates(state) == {}
    assert state["services"] == [] and state["serviceAccounts"] == []
    assert [(f["method"], f["path"]) for f in state["faults"]] == []
