"""Executors against the sandbox, without a worker: the idempotence each step promises."""

from datetime import UTC, datetime

import pytest

from deployments.plans import plan_for
from deployments.services.rollout import StepClaim, Succeeded, Waiting
from deployments.targets.endpoint import Credential, Endpoint, Protocol
from gcp import cloud_build
from tests.factories import DeploymentFactory
from workers.rollout.executors import EXECUTORS

pytestmark = pytest.mark.django_db


def claim_for(step, operation="", outputs=None):
    return StepClaim(
        deployment_id=1,
        event_id=1,
        lease_owner="t",
        step=step,
        operation=operation,
        retries=0,
        started_at=datetime.now(UTC),
        outputs=outputs or {},
        endpoint=Endpoint("service_uri", Protocol.OLLAMA, Credential.CLOUD_RUN_ID_TOKEN, ("m",)),
    )


@pytest.fixture
def plan(sandbox):
    deployment = DeploymentFactory(slug="exec-demo", attempt=1)
    return plan_for(deployment)


def test_a_build_started_before_a_crash_is_found_not_started_again(plan, sandbox):
    assert isinstance(
        EXECUTORS["artifact_registry.ensure_repository"](claim_for(plan.step("ensure_repository"))),
        Waiting,
    )
    build_step = plan.step("build_image")
    # A worker started the build, then died before it could record the build's name.
    lost = cloud_build.create_build(
        parent=build_step.params["parent"], body=build_step.request.body
    )

    result = EXECUTORS["cloud_build.run_build"](claim_for(build_step))

    assert isinstance(result, Waiting)
    assert result.operation == lost.name
    assert len(sandbox.requests(path_regex=r"/builds$", method="POST")) == 1


def test_an_existing_repository_is_success(plan, sandbox):
    step = plan.step("ensure_repository")
    first = EXECUTORS["artifact_registry.ensure_repository"](claim_for(step))
    assert isinstance(first, Waiting)
    second = EXECUTORS["artifact_registry.ensure_repository"](claim_for(step))
    assert isinstance(second, Succeeded)
    assert second.message == "The repository already exists."


def test_deleting_what_is_already_gone_succeeds(plan, sandbox):
    from deployments.choices import Phase

    teardown = plan_for(DeploymentFactory(slug="gone-demo", attempt=1), Phase.TEARDOWN)
    for step in teardown.steps:
        assert isinstance(EXECUTORS[step.action](claim_for(step)), Succeeded), step.key
