"""The registry is complete: every target has every part another layer needs, so adding a
target to the registry is enough for the form, the API, the worker and the playground."""

from dataclasses import fields, replace
from decimal import Decimal

import pytest
from django.template.loader import get_template

from deployments.api.serializers import request_serializer_class
from deployments.choices import OWNER_KIND, Phase
from deployments.forms import request_form_class
from deployments.plans import plan_for, ref_for
from deployments.pricing.estimator import Estimate
from deployments.services.comparison import model_sizes
from deployments.services.prices import price_table_active
from deployments.targets import TARGETS, spec_for
from deployments.targets.capabilities import BuildLog, InstanceTime, NodeLifetime, ServiceLog
from deployments.targets.endpoint import Protocol
from deployments.targets.fields import declarations
from deployments.targets.offer import Offer, OfferedDeployment
from deployments.targets.plan import LEGACY_NAMES
from gcp.endpoint_credentials import STRATEGIES
from playground.protocols import chat_request
from runbook.executors import EXECUTORS
from runbook.runner import executor_for
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


def _has_executor(action):
    try:
        executor_for(OWNER_KIND, action)
    except KeyError:
        return False
    return True


def test_every_action_its_plans_use_has_an_executor(deployment):
    for phase in Phase:
        for step in plan_for(deployment, phase).steps:
            assert _has_executor(step.action), f"{deployment.target}: no executor for {step.action}"


def test_its_own_executors_are_its_alone_and_its_plans_use_them(target, deployment):
    """An executor a target keeps (an action only its plans use) shadows none of
    runbook's generic ones nor another target's, and is one its plans need."""
    used = {s.action for phase in Phase for s in plan_for(deployment, phase).steps}
    for action in target.executors():
        assert action not in EXECUTORS, f"{target.name}: {action} is runbook's"
        others = [t.name for t in TARGETS.values() if t is not target and action in t.executors()]
        assert others == [], f"{target.name}: {action} is also {others}'s"
        assert action in used, f"{target.name}: its plans use no {action}"


def test_it_says_how_what_google_bills_is_measured(target, deployment):
    """The metering a target declares is the resource its plan starts billing with: the
    Cloud Run service it applies, the pods of the Kubernetes Deployment it applies, or the
    node pool it creates. A target whose plan bills nothing of its own declares none."""
    ref, spec = ref_for(deployment), spec_for(deployment)
    measured = target.metering(ref, spec)
    starts = [s for s in plan_for(deployment, Phase.DEPLOY).steps if s.billing == "starts"]
    if not starts:
        assert measured is None, f"{target.name} bills nothing, yet declares {measured}"
        return
    (step,) = starts
    name = str(step.params.get("name", ""))
    if isinstance(measured, InstanceTime):
        assert step.action == "cloud_run.apply_service"
        assert name.endswith(f"/locations/{measured.region}/services/{measured.service}")
        return
    assert isinstance(measured, NodeLifetime), f"{target.name}: how is {step.key} metered?"
    assert measured.machine_type == spec.machine_type
    assert measured.cluster == (spec.cluster or 0)
    if measured.node_pool:
        assert step.action == "container.create_node_pool"
        assert name.endswith(f"/nodePools/{measured.node_pool}")
        return
    body = step.request.body or {}
    assert (step.action, body.get("kind")) == ("kube.apply", "Deployment")
    labels = body["spec"]["selector"]["matchLabels"]
    assert measured.namespace == step.params["namespace"]
    assert measured.selector == ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def test_it_names_the_logs_its_page_shows(target, deployment):
    """The build its plan runs (once the rollout recorded it) and the Cloud Run services
    it applies, in that order."""
    ref, spec = ref_for(deployment), spec_for(deployment)
    steps = plan_for(deployment, Phase.DEPLOY).steps
    build = "projects/p/locations/us-central1/builds/b-1"
    builds = [BuildLog(build)] if any(s.action == "cloud_build.run_build" for s in steps) else []
    applied = [s.params["name"] for s in steps if s.action == "cloud_run.apply_service"]
    services = [ServiceLog(service=n.rsplit("/", 1)[-1], region=n.split("/")[3]) for n in applied]
    assert list(target.log_sources(ref, spec, {"build": build})) == [*builds, *services]
    assert list(target.log_sources(ref, spec, {})) == [*services]  # no build ran yet


def test_what_an_approver_may_allow_is_off_and_asked_by_no_request(target):
    """An allowance is a setting of the spec no form or request serializer declares, off
    until an approver turns it on; and a yes/no setting no request may ask for is one."""
    spec = target.spec_class.from_values({"model": target.initial_model})
    declared = {name for name, _, _ in declarations(target.spec_class)}
    undeclared_switches = {
        f.name for f in fields(spec) if f.name not in declared and isinstance(f.default, bool)
    }
    # Not a switch anyone turns: the mark migrations 0010 and 0011 set on rows made before
    # names had tags and owner ids (SpecBase's one field).
    assert undeclared_switches - {LEGACY_NAMES} == set(target.approver_allowances)
    for allowance in target.approver_allowances:
        assert getattr(spec, allowance) is False


def test_it_says_which_deployment_it_runs_on(target):
    """A target whose request picks one of the team's deployments (a LoRA adapter's base)
    runs on it: `depends_on` names it. Any other runs on none."""
    offer = Offer(
        team="ml",
        project="p",
        deployments=tuple(
            OfferedDeployment(
                id=100 + n,
                slug=f"d{n}",
                team="ml",
                target=t.name,
                status="ready",
                ready=True,
                model=t.initial_model,
                region="r",
                spec=None,
            )
            for n, t in enumerate(TARGETS.values())
        ),
    )
    spec = target.spec_class.from_values({"model": target.initial_model})
    picks = [
        (name, [value for value, _ in declaration.form_choices(offer)])
        for name, declaration, _ in declarations(target.spec_class)
        if declaration.form_choices is not None
    ]
    picked = [(name, ids[0]) for name, ids in picks if ids]
    assert target.depends_on(spec) is None
    for name, pk in picked:
        assert target.depends_on(replace(spec, **{name: pk})) == pk, f"{target.name}.{name}"


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
    # A spec field the target fills from the slug (NAME_FROM_SLUG) is asked once, as Name.
    from_slug = target.spec_class.NAME_FROM_SLUG
    for name, _, _ in declarations(target.spec_class):
        if name == from_slug:
            assert "slug" in form.fields and name not in form.fields
            continue
        assert name in form.fields, f"{target.name}: the form lacks {name}"
    # Its own page, named for it, laying out its fields in deployments/new.html.
    assert target.form_template == f"deployments/new_{target.name.replace('-', '_')}.html"
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
