"""Every distinct plan each registered target can make, found by walking its spec's choice
fields: tests that must cover "every step of every plan" iterate these, so a new target (or
a new variant of one) is picked up without touching them."""

import itertools
from functools import cache
from typing import Any

from deployments.choices import Phase
from deployments.plans.base import DeploymentRef, Plan, PlanContext
from deployments.targets import TARGETS
from deployments.targets.fields import Kind, declarations, defaults

CTX = PlanContext(
    project="hangar-sandbox",
    portal_service_account="hangar-portal@hangar-sandbox.iam.gserviceaccount.com",
    registry_repository="hangar",
)
REF = DeploymentRef(id=1, slug="variant", team_slug="ml-research", attempt=1)


def _valid_specs(target: Any) -> list[Any]:
    spec_class = target.spec_class
    base = {**defaults(spec_class), "model": target.initial_model}
    choices = [
        (name, declaration.choice_values())
        for name, declaration, _ in declarations(spec_class)
        if declaration.kind is Kind.CHOICE
    ]
    specs = []
    # Every pair of choice fields, each over all its values: enough to reach every shape
    # two independent switches (weights source × gated model) make.
    for (a, a_values), (b, b_values) in itertools.combinations(choices, 2):
        for va, vb in itertools.product(a_values, b_values):
            try:
                spec = spec_class.from_values({**base, a: va, b: vb})
            except (TypeError, ValueError):
                continue
            if not spec.errors():
                specs.append(spec)
    return specs


def _shape(target: Any, spec: Any) -> tuple[tuple[str, str], ...]:
    plans = (target.deploy_plan(REF, spec, CTX), target.teardown_plan(REF, spec, CTX))
    return tuple((p.phase.value + ":" + s.key, s.action) for p in plans for s in p.steps)


@cache
def plan_variants() -> list[tuple[str, Any]]:
    """(variant id, spec) for one spec of each distinct plan shape of every target."""
    found: dict[tuple[Any, ...], tuple[str, Any]] = {}
    for target in TARGETS.values():
        for spec in _valid_specs(target):
            shape = (target.name, _shape(target, spec))
            if shape not in found:
                found[shape] = (f"{target.name}#{len(found)}", spec)
    return list(found.values())


def target_of(variant: str) -> Any:
    return TARGETS[variant.split("#", 1)[0]]


def plan_of(variant: str, spec: Any, phase: Phase, ref: DeploymentRef = REF) -> Plan:
    target = target_of(variant)
    build = target.deploy_plan if phase == Phase.DEPLOY else target.teardown_plan
    return build(ref, spec, CTX)


def every_step() -> list[tuple[str, Any, Phase, str]]:
    """(variant, spec, phase, step key) for every step of every plan."""
    return [
        (variant, spec, phase, step.key)
        for variant, spec in plan_variants()
        for phase in (Phase.DEPLOY, Phase.TEARDOWN)
        for step in plan_of(variant, spec, phase).steps
    ]
