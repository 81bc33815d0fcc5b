"""A failed rollout that still holds what Google bills says so on the deployment's page:
what (the plan's billing step), about how much per hour (the rate the spend clock
accrues), and offers tear down beside retry."""

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from deployments.choices import Status
from deployments.models import Deployment
from deployments.selectors import deployment_hourly_rate
from deployments.services.requests import deployment_request
from deployments.services.transitions import deployment_transition
from tests.deployments.test_views import VALID, _roll_to_deploying

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(team: Any, deployer: Any) -> Deployment:
    values = {k: v for k, v in VALID.items() if k != "target"}
    return deployment_request(
        team=team, requested_by=deployer, target="cloud-run-ollama", slug="gemma", values=values
    )


def _fail(deployment: Deployment, *, billed: bool) -> Deployment:
    if billed:  # the service was made: the spend clock runs (deployments/services/rollout.py)
        Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=timezone.now())
        deployment.refresh_from_db()
    return deployment_transition(
        deployment=deployment,
        to=Status.FAILED,
        message="wait_ready failed",
        changes={"failure_step": "wait_ready", "failure_message": "The model did not load."},
    )


def _page(client: Any, deployment: Deployment) -> str:
    html = client.get(reverse("deployments:timeline", args=[deployment.pk])).content.decode()
    return " ".join(strip_tags(html).split())


def test_a_failure_that_holds_the_service_says_what_is_billed_per_hour(
    client: Any, deployer: Any, approver: Any, requested: Deployment
) -> None:
    deployment = _fail(_roll_to_deploying(requested, approver), billed=True)
    client.force_login(deployer)
    text = _page(client, deployment)
    rate = deployment_hourly_rate(deployment=deployment)
    assert rate > 0
    assert f"Still billed, about ${rate:,.2f} per hour:" in text
    assert "“Create or update the Cloud Run service” made is still there" in text
    html = client.get(reverse("deployments:timeline", args=[deployment.pk])).content.decode()
    assert reverse("deployments:retry", args=[deployment.pk]) in html
    assert reverse("deployments:tear_down", args=[deployment.pk]) in html
    assert "Tear down (stops the billing)" in text
    # The cost section says the same, in the same figure.
    detail = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    assert f"(Google bills it now, about ${rate:,.2f} per hour)" in detail


def test_a_failure_before_anything_billed_says_nothing_of_billing(
    client: Any, deployer: Any, approver: Any, requested: Deployment
) -> None:
    deployment = _fail(_roll_to_deploying(requested, approver), billed=False)
    client.force_login(deployer)
    text = _page(client, deployment)
    assert "Still billed" not in text
    assert "Tear down" in text and "stops the billing" not in text
    detail = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    assert "Google bills it now" not in detail
