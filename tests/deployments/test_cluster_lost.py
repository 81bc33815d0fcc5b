"""A step that fails on a lost cluster says the cluster is lost, not that Google failed."""

import pytest

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.services.cluster_lost import HINT, deployments_cluster_lost
from deployments.services.rollout import DeploymentOwner
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from portal.models import Notification
from runbook.results import Retry
from tests.factories import DeploymentFactory, MembershipFactory

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


def test_a_tear_down_on_a_lost_cluster_skips_what_reaches_it():
    cluster = Cluster.objects.create(
        project="hangar-sandbox", location="us-central1", name="std", status=ClusterStatus.LOST
    )
    spec = GkeInferenceGatewaySpec(
        cluster=cluster.pk, cluster_name=cluster.resource_name, region="us-central1", team_gpus=8
    )
    row = DeploymentFactory(
        target="gke-inference-gateway",
        model=spec.model,
        region=spec.region,
        gpu_type=spec.gpu_type,
        gpu_count=spec.gpu_count,
        spec=spec.spec_json(),
        status=Status.TEARING_DOWN,
    )
    deployment = Deployment.objects.get(pk=row.pk)
    lost = plan_for(deployment, Phase.TEARDOWN)
    Cluster.objects.filter(pk=cluster.pk).update(status=ClusterStatus.READY)
    ready = plan_for(deployment, Phase.TEARDOWN)

    reaching = {step.key for step in ready.steps if "cluster" in step.params}
    assert reaching  # on a ready cluster the tear down deletes what runs there
    assert [step.key for step in lost.steps] == [
        step.key for step in ready.steps if step.key not in reaching
    ]
    assert lost.steps  # what it holds outside the cluster is still removed


def test_a_ready_deployment_hears_of_its_lost_cluster_only_while_its_requester_is_a_member():
    cluster = Cluster.objects.create(
        project="hangar-sandbox", location="us-central1", name="gone", status=ClusterStatus.LOST
    )
    rows = []
    for slug in ("member-row", "left-row"):
        row = DeploymentFactory(slug=slug, status=Status.READY)
        Deployment.objects.filter(pk=row.pk).update(spec={**row.spec, "cluster": cluster.pk})
        rows.append(row)
    member, left = rows
    MembershipFactory(team=member.team, user=member.requested_by)

    assert deployments_cluster_lost(cluster, "404 Not found.") == 2

    for row in rows:  # both stay as they are, the news on their timeline
        assert Deployment.objects.get(pk=row.pk).status == Status.READY
        assert row.events.filter(message__contains="Cluster gone").exists()
    told = Notification.objects.get(user=member.requested_by)
    assert told.team_id == member.team_id and "Cluster gone" in told.message
    assert not Notification.objects.filter(user=left.requested_by).exists()
