"""Every target's plans say when Google starts and stops billing (the spend clock follows)."""

import pytest

from deployments.choices import Phase
from deployments.plans import PLAN_MODULES, plan_for
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

SPECS = {
    "cloud-run-ollama": {"model": "gemma3-1b"},
    "cloud-run-vllm": {"model": "gemma-4-e2b-it"},
}


@pytest.mark.parametrize("target", sorted(PLAN_MODULES))
def test_one_step_starts_billing_and_one_ends_it(target):
    from deployments.specs import spec_class_for

    spec = spec_class_for(target).from_values(SPECS[target])
    deployment = DeploymentFactory(
        target=target, model=spec.model, spec=spec.spec_json(), attempt=1
    )
    deploy = [s.key for s in plan_for(deployment, Phase.DEPLOY).steps if s.billing]
    teardown = [s.key for s in plan_for(deployment, Phase.TEARDOWN).steps if s.billing]
    assert deploy == ["deploy_service"]
    assert teardown == ["delete_service"]
    assert plan_for(deployment, Phase.DEPLOY).step("deploy_service").billing == "starts"
    assert plan_for(deployment, Phase.TEARDOWN).step("delete_service").billing == "ends"
