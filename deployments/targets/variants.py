"""Every distinct plan a registered target can make, found by walking its spec's choice
fields two at a time: what "every plan" means to the preflight (the permissions the plans
need) and to the tests that cover every step of every plan. A new target is included
without further work."""

import itertools
from collections.abc import Iterator
from typing import Any

from deployments.targets.base import TargetDef
from deployments.targets.fields import Kind, declarations, defaults
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext


def valid_specs(target: TargetDef) -> Iterator[Any]:
    spec_class = target.spec_class
    base = {**defaults(spec_class), "model": target.initial_model}
    choices = [
        (name, declaration.choice_values())
        for name, declaration, _ in declarations(spec_class)
        if declaration.kind is Kind.CHOICE
    ]
    # Every pair of choice fields over all their values: enough to reach every shape two
    # independent switches (weights source x gated model) make.
    for (a, a_values), (b, b_values) in itertools.combinations(choices, 2):
        for va, vb in itertools.product(a_values, b_values):
            try:
                spec = spec_class.from_values({**base, a: va, b: vb})
            except (TypeError, ValueError):
                continue
            if not spec.errors():
                yield spec


def plans(
    target: TargetDef, spec: Any, ref: DeploymentRef, ctx: PlanContext
) -> tuple[DeploymentPlan, DeploymentPlan]:
    return target.deploy_plan(ref, spec, ctx), target.teardown_plan(ref, spec, ctx)


def distinct_specs(
    targets: list[TargetDef], ref: DeploymentRef, ctx: PlanContext
) -> list[tuple[TargetDef, Any]]:
    """One spec of each distinct plan shape (its steps and their actions), per target. A
    shape whose steps all appear in another shape of the same target (the same server
    without its starter adapters' objectives, say) adds no step to cover: only the larger
    one is kept."""
    found: list[tuple[str, frozenset[tuple[str, str, str]], TargetDef, Any]] = []
    for target in targets:
        for spec in valid_specs(target):
            shape = frozenset(
                (p.phase.value, s.key, s.action)
                for p in plans(target, spec, ref, ctx)
                for s in p.steps
            )
            same = [f for f in found if f[0] == target.name]
            if any(shape <= kept for _, kept, _, _ in same):
                continue
            found = [f for f in found if not (f[0] == target.name and f[1] < shape)]
            found.append((target.name, shape, target, spec))
    return [(target, spec) for _, _, target, spec in found]
