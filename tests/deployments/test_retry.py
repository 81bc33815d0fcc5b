"""Retry resumes what failed: the deploy from its failed step, a tear down from its failed
step, for every step of every plan (tests/plan_variants.py finds them)."""

import pytest
from django.utils import timezone

from deployments.choices import Phase, Status
from deployments.services.lifecycle import deployment_retry
from deployments.services.rollout import rollout_claim, rollout_record
from runbook.models import Outcome, StepRun
from runbook.results import Failed
from tests.factories import DeploymentFactory, platform_admin
from tests.plan_variants import every_step, plan_of

pytestmark = pytest.mark.django_db

FAILING_STATUS = {Phase.DEPLOY: Status.DEPLOYING, Phase.TEARDOWN: Status.TEARING_DOWN}


def _deployment(spec, target, status):
    columns = {name: getattr(spec, name) for name in type(spec).COLUMN_FIELDS}
    return DeploymentFactory(
        slug="retry-demo",
        target=target,
        spec=spec.spec_json(),
        status=status,
        attempt=1,
        **columns,
    )


def _succeed(deployment, phase, keys):
    now = timezone.now()
    for key in keys:
        StepRun.objects.create(
            owner_kind="deployment",
            owner_id=deployment.pk,
            phase=phase,
            attempt=deployment.attempt,
            step=key,
            outcome=Outcome.SUCCEEDED,
            started_at=now,
            finished_at=now,
        )


@pytest.mark.parametrize(
    ("variant", "spec", "phase", "key"),
    every_step(),
    ids=[f"{v}-{p.value}-{k}" for v, _, p, k in every_step()],
)
def test_retry_resumes_the_failed_phase_at_the_failed_step(variant, spec, phase, key):
    target = variant.split("#", 1)[0]
    deployment = _deployment(spec, target, FAILING_STATUS[phase])
    deploy_keys = [s.key for s in plan_of(variant, spec, Phase.DEPLOY).steps]
    keys = [s.key for s in plan_of(variant, spec, phase).steps]
    if phase == Phase.TEARDOWN:
        _succeed(deployment, Phase.DEPLOY, deploy_keys)  # it was ready, then torn down
    _succeed(deployment, phase, keys[: keys.index(key)])

    claim = rollout_claim(deployment_id=deployment.pk)
    assert claim is not None and claim.step.key == key
    rollout_record(claim=claim, result=Failed("boom", "fix it"))
    deployment.refresh_from_db()
    assert (deployment.status, deployment.failure_step) == (Status.FAILED, key)

    deployment = deployment_retry(deployment=deployment, by=platform_admin("root"))

    assert deployment.status == FAILING_STATUS[phase]
    again = rollout_claim(deployment_id=deployment.pk)
    assert again is not None, "the retried rollout claimed nothing"
    event = StepRun.objects.get(pk=again.run_id)
    assert (event.phase, again.step.key) == (phase, key)
    assert deployment.failure_step == ""
