"""IAM as Google enforces it, in the sandbox and in the plans: acting as an account needs
roles/iam.serviceAccountUser on it, builds run as the build account with only what the plan
grants it, and a new account is waited for until IAM sees it."""

import pytest

from deployments.choices import Phase, Status
from deployments.plans import plan_for
from runbook.ledger import runs_of
from runbook.results import Failed, Retry
from runbook.runner import run_step
from tests.factories import DeploymentFactory, TeamFactory
from tests.plan_variants import plan_variants
from tests.runbook.rollout_driver import deployment_for, drive
from tests.runbook.test_executors import claim_for

pytestmark = pytest.mark.django_db

VLLM_BUCKET = next(
    (v, s)
    for v, s in plan_variants()
    if getattr(s, "weights_source", "") == "bucket" and getattr(s, "needs_hf_token", False)
)


@pytest.fixture
def fast(sandbox):
    sandbox.config(operation_delay=0.05, model_load_delay=0.05)
    return sandbox


def _run(plan, key, **kw):
    return run_step(claim_for(plan.step(key), **kw))


def _until(plan, keys):
    for key in keys:
        result = _run(plan, key)
        operation = getattr(result, "operation", "")
        while operation:
            result = _run(plan, key, operation=operation)
            operation = getattr(result, "operation", "")
        assert not isinstance(result, Failed), (key, result)


def test_deploying_as_an_account_without_act_as_names_service_account_user(fast):
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-actas")
    plan = plan_for(deployment, Phase.DEPLOY)
    _until(plan, ["ensure_service_account"])  # the account, but no grant_act_as

    result = _run(plan, "deploy_service")

    assert isinstance(result, Failed), result
    assert "iam.serviceAccounts.actAs" in result.error
    assert "roles/iam.serviceAccountUser" in result.hint
    assert "roles/run.admin" not in result.hint
    assert f"add-iam-policy-binding {plan.step('grant_act_as').params['email']}" in result.hint


def test_a_build_as_the_build_account_needs_act_as_on_it(fast):
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-build")
    plan = plan_for(deployment, Phase.DEPLOY)
    fast.iam(act_as=[])  # the operator never granted serviceAccountUser on the builder

    result = _run(plan, "download_weights")

    assert isinstance(result, Failed), result
    assert "roles/iam.serviceAccountUser" in result.hint
    assert fast.state()["builds"] == []


def test_the_build_account_writes_only_where_the_plan_let_it(fast):
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-write")
    plan = plan_for(deployment, Phase.DEPLOY)
    keys = [s.key for s in plan.steps]
    before = keys[: keys.index("download_weights")]
    _until(plan, [k for k in before if k != "grant_builder_bucket_writer"])

    result = _run(plan, "download_weights")
    while getattr(result, "operation", ""):
        result = _run(plan, "download_weights", operation=result.operation)

    assert isinstance(result, Failed), result
    assert "storage.objects.create" in fast.state()["builds"][0]["statusDetail"]


def test_a_new_account_is_waited_for_until_iam_sees_it(fast):
    fast.config(account_propagation_delay=1.5)
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-wait")

    assert drive(deployment, until=Status.READY) == []

    grant = runs_of("deployment", deployment.pk).get(step="grant_act_as")
    assert grant.retries == 0  # a wait, not a failure: the step's retries are untouched
    refused = [e for e in fast.requests(path_regex=r":setIamPolicy$") if e["status"] == 400]
    assert refused, "the sandbox never refused a grant on the new account"


def test_an_account_iam_never_sees_fails_the_step_saying_so(fast, settings):
    fast.config(account_propagation_delay=60)
    settings.ROLLOUT = {**settings.ROLLOUT, "ACCOUNT_PROPAGATION_SECONDS": 1.0}
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-never")

    [failed] = drive(deployment, until=Status.READY)

    assert failed.failure_step == "grant_act_as"
    assert "does not exist" in failed.failure_message
    assert "ROLLOUT_ACCOUNT_PROPAGATION_SECONDS" in failed.failure_hint


def test_deploying_as_an_account_iam_does_not_see_yet_is_waited_for(fast):
    variant, spec = VLLM_BUCKET
    deployment = deployment_for(variant, spec, TeamFactory(slug="iam-team"), "iam-deploy")
    plan = plan_for(deployment, Phase.DEPLOY)
    _until(plan, ["ensure_service_account", "grant_act_as"])
    fast.config(account_propagation_delay=60)  # the account is new again to IAM's readers

    result = _run(plan, "deploy_service")

    assert isinstance(result, Retry), result
    assert result.counted is False  # a wait, not one of the step's retries
    assert plan.step("grant_act_as").params["email"] in result.error
    [refused] = fast.requests(path_regex=r"/services/iam-deploy$", method="PATCH")
    assert refused["status"] == 400
    assert fast.state()["services"] == []


def test_a_build_account_that_may_not_push_fails_naming_the_role(fast):
    fast.iam(builder_roles=["roles/logging.logWriter"])  # no Artifact Registry writer
    deployment = DeploymentFactory(team=TeamFactory(slug="iam-team"), slug="iam-push")
    plan = plan_for(deployment, Phase.DEPLOY)
    _until(plan, ["ensure_repository"])

    result = _run(plan, "build_image")
    while getattr(result, "operation", ""):
        result = _run(plan, "build_image", operation=result.operation)

    assert isinstance(result, Failed), result
    assert "artifactregistry.repositories.uploadArtifacts" in result.error
    assert "--role=roles/artifactregistry.writer" in result.hint
    assert fast.iam()["builder_roles"] == ["roles/logging.logWriter"]
