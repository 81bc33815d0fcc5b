"""The requester hears when their deployment becomes Ready, fails (with Google's reason) or
is torn down by someone else; a tear down they asked for themselves is not news to them."""

from typing import Any

import pytest

from deployments.choices import Status
from deployments.services.lifecycle import deployment_tear_down
from deployments.services.transitions import deployment_transition
from portal.models import Notification
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def notes(user: Any) -> list[str]:
    return [n.message for n in Notification.objects.filter(user=user).order_by("pk")]


def test_ready_is_announced_with_a_link(team: Any, deployer: Any) -> None:
    deployment: Any = DeploymentFactory(
        team=team, slug="soon", status=Status.DEPLOYING, requested_by=deployer
    )

    deployment_transition(deployment=deployment, to=Status.READY)

    note = Notification.objects.get(user=deployer)
    assert note.message == "soon is ready: chat with it in the playground."
    assert note.link == f"/deployments/{deployment.pk}/"


def test_a_failure_is_announced_with_the_step_and_googles_reason(team: Any, deployer: Any) -> None:
    deployment: Any = DeploymentFactory(
        team=team, slug="broke", status=Status.DEPLOYING, requested_by=deployer
    )

    deployment_transition(
        deployment=deployment,
        to=Status.FAILED,
        changes={"failure_step": "deploy_service", "failure_message": "400 BadRequest: No GPU."},
    )

    assert notes(deployer) == ["broke failed at deploy_service: 400 BadRequest: No GPU."]


def test_a_tear_down_by_someone_else_is_announced_with_who_and_why(
    team: Any, deployer: Any, approver: Any
) -> None:
    deployment: Any = DeploymentFactory(
        team=team, slug="gone", status=Status.READY, requested_by=deployer
    )
    Notification.objects.all().delete()

    deployment_tear_down(deployment=deployment, by=approver, reason="Budget is spent")
    deployment_transition(deployment=deployment, to=Status.TORN_DOWN)

    assert notes(deployer) == [f"gone was torn down by {approver.username}: Budget is spent."]


def test_ones_own_tear_down_and_withdrawal_are_not_announced(team: Any, deployer: Any) -> None:
    ready: Any = DeploymentFactory(
        team=team, slug="mine", status=Status.READY, requested_by=deployer
    )
    pending: Any = DeploymentFactory(team=team, slug="asked", requested_by=deployer)

    deployment_tear_down(deployment=ready, by=deployer)
    deployment_transition(deployment=ready, to=Status.TORN_DOWN)
    deployment_tear_down(deployment=pending, by=deployer)

    assert notes(deployer) == []
