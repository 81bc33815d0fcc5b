"""Every distinct plan each registered target can make, found by walking its spec's choice
fields: tests that must cover "every step of every plan" iterate these, so a new target (or
a new variant of one) is picked up without touching them."""

from functools import cache
from typing import Any

from deployments.choices import Phase
from deployments.targets import TARGETS
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext
from deployments.targets.variants import distinct_specs

CTX = PlanContext(
    project="hangar-sandbox",
    portal_service_account="hangar-portal@hangar-sandbox.iam.gserviceaccount.com",
    registry_repository="hangar",
)
REF = DeploymentRef(id=1, slug="variant", team_slug="ml-research", attempt=1)


@cache
def plan_variants() -> list[tuple[str, Any]]:
    """(variant id, spec) for one spec of each distinct plan shape of every target."""
    found = distinct_specs(list(TARGETS.values()), REF, CTX)
    return [(f"{target.name}#{i}", spec) for i, (target, spec) in enumerate(found)]


def target_of(variant: str) -> Any:
    return TARGETS[variant.split("#", 1)[0]]


def plan_of(variant: str, spec: Any, phase: Phase, ref: DeploymentRef = REF) -> DeploymentPlan:
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
