"""gke-vllm end to end, as the issue checks it: a platform admin has Hangar create an
Autopilot cluster open to the team; the team requests seed 003's deployment over the API;
an approval token approves it; a real worker rolls it out against the sandbox (Workload
Identity enforced); the playground chats with it through the API server's service proxy
(the portal's Google access token, TLS against the cluster's CA); the tear down leaves
nothing but the cluster and the team's namespace."""

import pytest

from clusters.choices import ClusterStatus
from clusters.services import cluster_create
from deployments.choices import Status
from deployments.plans import plan_for, ref_for
from deployments.targets.gke_vllm import identity, manifests
from deployments.targets.gke_vllm.plan import server_name
from gcp import container, kube
from runbook.ledger import runs_of
from runbook.models import Outcome
from runbook.plan import SERVICE_PROXY_URL_OUTPUT
from tests.playground.conftest import read_events, sign_in
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import request_and_approve, tear_down
from tests.workers.test_rollout_clusters import wait_cluster

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MODEL = "google/gemma-4-26B-A4B-it"


def test_create_cluster_request_approve_chat_through_the_proxy_and_tear_down(
    api, team, team_token, deployer, approver, sandbox, worker, portal_server
):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    cluster = cluster_create(
        project="hangar-sandbox",
        location="us-central1",
        name="llm-ap",
        release_channel="REGULAR",
        teams=[team],
        by=approver,
    )
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message

    deployment = request_and_approve(
        api,
        team_token,
        approver,
        "gemma-gke",
        target="gke-vllm",
        model="gemma-4-26b-a4b-it",
        cluster=cluster.pk,
    )
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=90)
    assert deployment.status == Status.READY, (deployment.failure_step, deployment.failure_message)
    steps = {e.step: e for e in runs_of("deployment", deployment.pk).filter(phase="deploy")}
    assert list(steps) == [s.key for s in plan_for(deployment).steps]
    assert all(e.outcome == Outcome.SUCCEEDED for e in steps.values())
    ns = identity.team_namespace(team.slug)
    name = server_name(ref_for(deployment))  # the slug and the deployment's tag
    assert name.startswith("gemma-gke-")
    # No load balancer: the address is the Service's proxy on the cluster's API server.
    assert deployment.endpoint_url == deployment.outputs[SERVICE_PROXY_URL_OUTPUT]
    assert deployment.endpoint_url == (
        f"https://{cluster.endpoint}/api/v1/namespaces/{ns}/services/{name}:{manifests.PORT}/proxy"
    )

    # The playground streams a chat through the proxy, with the portal's credentials.
    http = sign_in(portal_server, deployer)
    body = {
        "deployment": deployment.pk,
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    with http.post(
        portal_server.url + "/playground/api/chat", json=body, stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        events = read_events(response)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done", events[-3:]
    text = "".join(data.get("content", "") for name, data in events if name == "token")
    assert text.strip()
    assert events[-1][1]["completion_tokens"] > 0

    deployment = tear_down(api, approver, deployment)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message

    # Nothing left but the cluster (still ready) and the team's namespace.
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.READY
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    for api_version, kind in [
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("v1", "ServiceAccount"),
    ]:
        assert kube.read(conn, api_version, kind, name, ns) is None
    assert kube.read(conn, "cloud.google.com/v1", "ComputeClass", name) is None
    assert kube.list_objects(conn, "v1", "Pod", ns) == []
    assert kube.read(conn, "v1", "Namespace", ns) is not None
    state = sandbox.state()
    assert state["serviceAccounts"] == [] and state["buckets"] == []
    assert container.get_cluster(cluster.resource_name).status == "RUNNING"
