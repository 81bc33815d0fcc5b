"""A base's tear down waits while a deployment that runs on it is live (services/rollout.py);
an adapter that fails because its base is no longer ready lets that tear down go on."""

from typing import Any

import pytest

from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.services.rollout import DeploymentOwner
from tests.deployments.targets.test_gke_inference_gateway_adapter_target import (
    URL,
    base_deployment,
    body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def test_an_adapter_failed_on_a_base_being_torn_down_queues_the_base(
    api: Any, team: Any, deployer: Any
) -> None:
    base = base_deployment(team)
    api.force_authenticate(deployer)
    assert api.post(URL, body(base.pk), "json").status_code == 201
    adapter = Deployment.objects.get(target="gke-inference-gateway-adapter")
    assert adapter.runs_on_id == base.pk
    Deployment.objects.filter(pk=adapter.pk).update(status=Status.DEPLOYING)
    Deployment.objects.filter(pk=base.pk).update(status=Status.TEARING_DOWN, advance_due_at=None)

    DeploymentOwner().finish(Deployment.objects.get(pk=adapter.pk), Phase.DEPLOY)

    adapter.refresh_from_db()
    assert adapter.status == Status.FAILED and adapter.failure_step == "base"
    assert Deployment.objects.get(pk=base.pk).advance_due_at is not None  # its advance queued
