"""An adapter holds no GPU of its own (its base's server loads it), so the team's GPU quota
cannot refuse or hold it, even when the base already holds more than the quota allows."""

from typing import Any

import pytest

from deployments.models import Deployment
from deployments.services.quotas import quota_check
from tests.deployments.targets.test_gke_inference_gateway_adapter_target import (
    URL,
    base_deployment,
    body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


def test_an_adapter_is_not_over_the_quota_its_base_already_uses(
    api: Any, team: Any, deployer: Any
) -> None:
    base = base_deployment(team)
    Deployment.objects.filter(pk=base.pk).update(gpus_held=2)
    held = quota_check(team=team, region=base.region, gpu_type=base.gpu_type, requested=1)
    assert held.team_used == 2 and held.team_quota == 0 and not held.fits_team

    api.force_authenticate(deployer)
    response = api.post(URL, body(base.pk), "json")
    assert response.status_code == 201, response.json()
    adapter = Deployment.objects.get(target="gke-inference-gateway-adapter")
    reason = adapter.decision_reason or ""
    assert "quota" not in reason.lower() or "no GPU" in reason
    assert "2 of 0" not in reason
    assert adapter.status == "approved", reason
