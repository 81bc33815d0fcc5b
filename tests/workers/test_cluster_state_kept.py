"""A cluster outlives a sandbox restart, and one that disappears is marked lost.

The sandbox keeps its state in a file when asked (sandbox/server/snapshot.py; scripts/run
asks): here the session's sandbox is restarted on its port with a state file between a
cluster's creation and a request on it, and the request reaches ready on the cluster as
it was. A cluster deleted behind Hangar's back is marked lost by the clusters' reconcile
(clusters/health.py), and the deployments on it hear of it instead of retrying.
"""

from typing import Any
from urllib.parse import urlparse

import pytest
from google.api_core import exceptions
from google.cloud import container_v1

from clusters.choices import ClusterStatus
from clusters.health import clusters_check
from clusters.models import ClusterEvent
from clusters.services import cluster_create
from deployments.choices import Status
from deployments.models import DeploymentEvent
from portal.models import Notification
from sandbox.testing import SandboxProcess
from tests.sandbox_fixtures import FAST
from tests.workers.helpers import wait_for_status, wait_until
from tests.workers.test_rollout_cloud_run_vllm import request_and_approve
from tests.workers.test_rollout_clusters import WHERE, wait_cluster

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GKE_REQUEST = {"target": "gke-vllm", "model": "gemma-4-26b-a4b-it"}


def _restart(process: SandboxProcess, **options: Any) -> None:
    """Stop the session's sandbox and start it again on its port (the metadata host
    google-auth was pointed at), with `options`; the session fixture stops the new one."""
    process.stop()
    settings: dict[str, Any] = {**FAST, **options}
    fresh = SandboxProcess.start(port=urlparse(process.url).port, **settings)
    process.proc = fresh.proc


@pytest.fixture
def restart_sandbox(sandbox_process, sandbox, tmp_path):
    """Restarts the sandbox keeping its state in a file; in memory again afterwards."""
    state = tmp_path / "sandbox-state.pickle"
    _restart(sandbox_process, state_file=state)
    yield lambda: _restart(sandbox_process, state_file=state)
    _restart(sandbox_process)


def _ready_cluster(team, approver):
    cluster = cluster_create(
        **WHERE, name="llm-ap", release_channel="REGULAR", teams=[team], by=approver
    )
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    return cluster


def test_a_request_on_a_cluster_made_before_a_sandbox_restart_reaches_ready(
    restart_sandbox, worker, api, team, team_token, approver, gke
):
    cluster = _ready_cluster(team, approver)
    before = gke.get_cluster(name=cluster.resource_name)

    restart_sandbox()

    after = gke.get_cluster(name=cluster.resource_name)
    assert after.status == container_v1.Cluster.Status.RUNNING
    # The same control plane: its address and CA are the ones Hangar read.
    assert (after.endpoint, after.master_auth.cluster_ca_certificate) == (
        before.endpoint,
        before.master_auth.cluster_ca_certificate,
    )
    deployment = request_and_approve(
        api, team_token, approver, "gemma-gke", cluster=cluster.pk, **GKE_REQUEST
    )
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=120)
    assert deployment.status == Status.READY, (deployment.failure_step, deployment.failure_message)
    # Nothing marks a cluster lost that GKE still has.
    assert clusters_check() == []


def test_a_cluster_gke_no_longer_has_is_marked_lost_and_its_deployments_told(
    sandbox, worker, api, team, team_token, approver, gke
):
    cluster = _ready_cluster(team, approver)
    # One rolling out (its model takes long to load), one waiting for approval.
    sandbox.config(model_load_delay=600)
    rolling = request_and_approve(
        api, team_token, approver, "gemma-rolling", cluster=cluster.pk, **GKE_REQUEST
    )
    wait_for_status(rolling, Status.DEPLOYING)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {team_token}")
    body = {"team": team.slug, "slug": "gemma-waiting", "cluster": cluster.pk, **GKE_REQUEST}
    waiting = api.post("/api/v1/deployments/", body, format="json")
    assert waiting.json()["status"] == "pending_approval", waiting.json()

    # Deleted outside Hangar (the console, gcloud): GKE answers 404 for it afterwards.
    gke.delete_cluster(name=cluster.resource_name)

    def gone() -> bool:
        try:
            gke.get_cluster(name=cluster.resource_name)
        except exceptions.NotFound:
            return True
        return False

    wait_until(gone, timeout=30, message="the cluster to be deleted")

    assert clusters_check() == [cluster.pk]
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.LOST
    assert "GKE has no cluster llm-ap" in cluster.failure_message
    event = ClusterEvent.objects.filter(cluster=cluster).latest("created_at")
    assert (event.from_status, event.to_status) == (ClusterStatus.READY, ClusterStatus.LOST)

    rolling.refresh_from_db()
    assert rolling.status == Status.FAILED
    assert "Cluster llm-ap" in rolling.failure_message and "is lost" in rolling.failure_message
    assert rolling.failure_step  # the step it was on
    assert "Google" not in rolling.failure_hint
    pending = DeploymentEvent.objects.get(deployment_id=waiting.json()["id"], to_status="")
    assert "Cluster llm-ap" in pending.message
    told = Notification.objects.filter(user__username="ada", message__contains="llm-ap")
    assert told.filter(link__endswith=f"/{waiting.json()['id']}/").exists()
    # Checked again, a lost cluster is not read again nor its deployments told twice.
    assert clusters_check() == []
    assert (
        DeploymentEvent.objects.filter(deployment_id=waiting.json()["id"], to_status="").count()
        == 1
    )

    # Its tear down removes what it holds outside the cluster and ends: the steps that
    # would reach the lost cluster are not in its plan (deployments/plans.py).
    asked = api.post(f"/api/v1/deployments/{rolling.pk}/tear-down/", {"reason": "lost"}, "json")
    assert asked.status_code == 200, asked.json()
    wait_for_status(rolling, Status.TORN_DOWN)
