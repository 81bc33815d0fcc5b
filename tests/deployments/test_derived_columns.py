"""What a deployment row keeps from its spec so pages sum and join in SQL: the GPUs it
holds against quotas (gpus_held) and the deployment it runs on (runs_on), each what its
target says of the spec, derived again whenever the spec is saved."""

from dataclasses import replace
from typing import Any

import pytest

from deployments.models import Deployment
from deployments.targets import TARGETS, spec_for, target_for
from deployments.targets.fields import declarations
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def _row(target_name: str, **values: object) -> Deployment:
    target = TARGETS[target_name]
    spec: Any = target.spec_class.from_values({"model": target.initial_model})
    spec = replace(spec, **values)
    row: Any = DeploymentFactory(
        target=target.name,
        model=spec.model,
        region=spec.region,
        gpu_type=spec.gpu_type,
        spec=spec.spec_json(),
    )
    return row


@pytest.mark.parametrize("target_name", sorted(TARGETS))
def test_a_saved_row_holds_what_its_target_says_of_its_spec(target_name: str) -> None:
    row = Deployment.objects.get(pk=_row(target_name).pk)

    spec = spec_for(row)
    assert row.gpus_held == spec.gpus_held
    assert row.runs_on_id == target_for(row).depends_on(spec)


def test_saving_a_changed_spec_derives_the_holding_again() -> None:
    row = _row("cloud-run-ollama", max_instances=1)
    assert row.gpus_held == 1

    row.spec = {**row.spec, "max_instances": 3}
    row.save(update_fields=["spec"])

    assert Deployment.objects.get(pk=row.pk).gpus_held == 3 == spec_for(row).gpus_held


@pytest.mark.parametrize("target_name", sorted(TARGETS))
def test_a_row_that_runs_on_another_names_it(target_name: str) -> None:
    base = _row("cloud-run-ollama")
    target = TARGETS[target_name]
    spec: Any = target.spec_class.from_values({"model": target.initial_model})
    naming = [
        name
        for name, _, _ in declarations(target.spec_class)
        if isinstance(getattr(spec, name), int | None)
        and target.depends_on(replace(spec, **{name: base.pk})) == base.pk
    ]
    if not naming:
        pytest.skip(f"{target_name} runs on no other deployment")

    dependent = _row(target_name, **{naming[0]: base.pk})

    assert dependent.runs_on_id == base.pk
    assert list(base.dependents.all()) == [dependent]
