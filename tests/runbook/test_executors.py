"""Executors against the sandbox, without a worker: the idempotence each step promises."""

import pytest

from deployments.plans import plan_for
from deployments.targets.endpoint import Credential, Endpoint, Protocol
from gcp import cloud_build
from runbook.executors import EXECUTORS
from runbook.results import Succeeded, Waiting
from tests.factories import DeploymentFactory
from tests.step_claims import step_claim

pytestmark = pytest.mark.django_db

OLLAMA_SERVICE = Endpoint("service_uri", Protocol.OLLAMA, Credential.CLOUD_RUN_ID_TOKEN, ("m",))


def claim_for(step, operation="", outputs=None):
    return step_claim(step, operation, outputs=outputs, endpoint=OLLAMA_SERVICE)


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
