"""A Gateway that reports a hostile address, through a real worker: the rollout fails at the
Gateway's wait naming the value, never calls it, and its tear down leaves nothing behind.

The check is runbook/executors/kube_endpoint.py's checked_gateway_address, which the
Gateway's wait (deployments/targets/gke_inference_gateway/executors.py wait_gateway) calls
before the address becomes an output.
"""

import pytest

from deployments.choices import Status
from tests.factories import TeamFactory
from tests.plan_variants import plan_variants
from tests.runbook.rollout_driver import deployment_for, tear_down
from tests.workers.helpers import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HOSTILE = "metadata.google.internal"


def test_a_gateway_reporting_a_host_name_fails_the_rollout_naming_it(sandbox, worker):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3, account_propagation_delay=0.3)
    sandbox.add_fault(kind="gateway_address", value=HOSTILE, times=-1)
    variant, spec = next(
        (v, s) for v, s in plan_variants() if v.startswith("gke-inference-gateway#")
    )
    deployment = deployment_for(variant, spec, TeamFactory(slug="gw-team"), "gw-hostile")
    from deployments.services.rollout import rollout_schedule

    sandbox.clear_requests()
    rollout_schedule(deployment_id=deployment.pk)
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=180)
    assert deployment.status == Status.FAILED
    assert deployment.failure_step == "wait_gateway"
    assert repr(HOSTILE) in deployment.failure_message
    assert not deployment.endpoint_url

    deployment = wait_for_status(tear_down(deployment), Status.TORN_DOWN, Status.FAILED, 180)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message
