"""The registry is complete: every target has every part another layer needs, so adding a
target to the registry is enough for the form, the API, the worker and the playground."""

from decimal import Decimal

import pytest
from django.template.loader import get_template

from deployments.api.serializers import request_serializer_class
from deployments.choices import Phase
from deployments.forms import request_form_class
from deployments.plans import plan_for
from deployments.pricing.estimator import Estimate
from deployments.services.comparison import model_sizes
from deployments.services.prices import price_table_active
from deployments.targets import TARGETS, spec_for
from deployments.targets.endpoint import Protocol
from deployments.targets.fields import declarations
from gcp.endpoint_credentials import STRATEGIES
from playground.protocols import chat_request
from runbook.executors import EXECUTORS
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=sorted(TARGETS))
def target(request):
    return TARGETS[request.param]


@pytest.fixture
def deployment(target):
    spec = target.spec_class.from_values({"model": target.initial_model})
    assert spec.errors() == {}, "the target's defaults and initial model must be a valid request"
    return DeploymentFactory(
        target=target.name,
        model=spec.model,
        region=spec.region,
        gpu_type=spec.gpu_type,
        spec=spec.spec_json(),
        attempt=1,
    )


def test_every_action_its_plans_use_has_an_executor(deployment):
    for phase in Phase:
        for step in plan_for(deployment, phase).steps:
            assert step.action in EXECUTORS, f"{deployment.target}: no executor for {step.action}"


def test_one_step_starts_billing_and_one_ends_it(deployment):
    """A target that holds GPUs bills from one step to another; one that holds none (a
    LoRA adapter on another deployment's server) bills nothing of its own."""
    deploy = [s.billing for s in plan_for(deployment, Phase.DEPLOY).steps if s.billing]
    teardown = [s.billing for s in plan_for(deployment, Phase.TEARDOWN).steps if s.billing]
    holds = spec_for(deployment).gpus_held > 0
    assert deploy == (["starts"] if holds else [])
    assert teardown == (["ends"] if holds else [])


def test_its_endpoint_can_be_reached_by_the_playground_and_the_smoke_test(target, deployment):
    endpoint = target.endpoint(spec_for(deployment))
    assert endpoint.credential in STRATEGIES, f"no credential strategy for {endpoint.credential}"
    assert endpoint.protocol in set(Protocol)
    assert endpoint.served_models and all(endpoint.served_models)
    assert endpoint.description
    assert endpoint.access_hint
    path, _ = chat_request(endpoint.protocol, _params(endpoint.served_models[0]))
    assert path.startswith("/")


def _params(model):
    from playground.protocols import ChatParams

    return ChatParams(model=model, messages=[{"role": "user", "content": "hi"}])


def test_it_has_a_request_form_and_page(target, deployer):
    form_class = request_form_class(target.name)
    assert form_class.target_def is target
    form = form_class(user=deployer)
    for name, _, _ in declarations(target.spec_class):
        assert name in form.fields, f"{target.name}: the form lacks {name}"
    assert get_template(target.form_template)


def test_it_has_a_serializer_with_every_spec_field(target):
    serializer = request_serializer_class({"target": target.name})()
    for name, _, _ in declarations(target.spec_class):
        assert name in serializer.fields, f"{target.name}: the serializer lacks {name}"
    assert serializer.fields["target"].choices == {target.name: target.name}


def test_it_prices_its_own_request_and_takes_part_in_the_comparison(target, deployment):
    prices = price_table_active().data
    estimate = target.estimate(spec_for(deployment), prices, Decimal(8))
    assert isinstance(estimate, Estimate)
    option = target.compare(model_sizes(deployment.model), prices, Decimal(8))
    if spec_for(deployment).gpus_held == 0:  # runs on another deployment's GPUs
        assert estimate.monthly == 0 and estimate.lines and option is None
        return
    assert estimate.monthly > 0
    assert option is not None
    assert option.target == target.name
    assert target.scaling_summary(spec_for(deployment))


def test_every_field_is_bounded(target):
    """A number without both bounds is a number a client can make absurd."""
    for name, declaration, _ in declarations(target.spec_class):
        if declaration.choices is None:
            assert declaration.minimum is not None, f"{target.name}.{name} has no minimum"
            assert declaration.maximum is not None, f"{target.name}.{name} has no maximum"
