"""A step that fails on a lost cluster says the cluster is lost, not that Google failed."""

import pytest

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from deployments.choices import Status
from deployments.models import Deployment
from deployments.services.cluster_lost import HINT
from deployments.services.rollout import DeploymentOwner
from runbook.results import Retry
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

GOOGLE_HINT = "Google Cloud had a problem; retry later."


def _deployment_on(cluster_status):
    cluster = Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="llm-ap",
        status=cluster_status,
        failure_message="GKE has no cluster llm-ap: 404 Not found.",
    )
    deployment = Deployment.objects.get(pk=DeploymentFactory(status=Status.TEARING_DOWN).pk)
    Deployment.objects.filter(pk=deployment.pk).update(
        spec={**deployment.spec, "cluster": cluster.pk}
    )
    deployment.refresh_from_db()
    return deployment


def _fail(deployment):
    unreachable = Retry("Could not reach Google: Could not reach the cluster's API server")
    DeploymentOwner().fail(deployment, "delete_deployment", unreachable, GOOGLE_HINT)
    deployment.refresh_from_db()
    return deployment


def test_a_tear_down_failing_on_a_lost_cluster_names_it():
    failed = _fail(_deployment_on(ClusterStatus.LOST))
    assert failed.status == Status.FAILED
    assert failed.failure_message.startswith("Cluster llm-ap (hangar-sandbox/us-central1) is lost")
    assert "Could not reach the cluster's API server" in failed.failure_message
    assert failed.failure_hint == HINT


def test_on_a_ready_cluster_the_failure_is_google_s():
    failed = _fail(_deployment_on(ClusterStatus.READY))
    assert failed.failure_message.startswith("Could not reach Google")
    assert failed.failure_hint == GOOGLE_HINT
