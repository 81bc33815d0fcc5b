"""A node-pool operation that never ends, through a real worker: the rollout no longer waits
for it forever; the step fails at its deadline naming the operation and GKE's last word on
it, and the pool was asked for once."""

import pytest

from deployments.choices import Status
from deployments.services.rollout import rollout_schedule
from runbook.ledger import runs_of
from tests.factories import TeamFactory
from tests.plan_variants import plan_variants
from tests.runbook.rollout_driver import deployment_for
from tests.workers.helpers import scale_deadlines, wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The deadlines the worker keeps, shrunk so a wait that never ends ends within the test.
DEADLINE_SCALE = 0.003


@pytest.fixture
def scaled_deadlines(monkeypatch):
    scale_deadlines(monkeypatch, DEADLINE_SCALE)


def test_a_node_pool_operation_that_never_ends_fails_at_its_deadline(
    scaled_deadlines, sandbox, start_worker
):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3, account_propagation_delay=0.3)
    variant, spec = next(
        (v, s) for v, s in plan_variants() if v.startswith("gke-inference-gateway#")
    )
    deployment = deployment_for(variant, spec, TeamFactory(slug="pool-team"), "pool-stuck")
    sandbox.add_fault(kind="operation_stuck", method="POST", path="/nodePools$")
    start_worker()
    rollout_schedule(deployment_id=deployment.pk)

    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=180)
    assert deployment.status == Status.FAILED
    assert deployment.failure_step == "create_node_pool"
    create = runs_of("deployment", deployment.pk).get(step="create_node_pool")
    assert "/operations/operation-" in create.operation
    message = deployment.failure_message
    assert create.operation in message and "past its deadline" in message
    assert "Last known state: Google reports the operation RUNNING." in message
    assert len(sandbox.requests(path_regex="/nodePools$", method="POST")) == 1
