"""GKE Standard clusters as seed 004 creates them: the exact requests, and a zonal one
planned as Standard. The GPU node pools a deployment adds to one are the gateway target's
(tests/deployments/targets/test_gke_inference_gateway_node_pools.py)."""

import json

import pytest
from google.cloud import container_v1

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan
from clusters.services import cluster_create
from tests.factories import platform_admin

REF = ClusterRef("hangar-sandbox", "us-central1", "llm-std", "RAPID", autopilot=False)


def test_standard_create_is_seed_004s_cluster():
    _, create, read = cluster_plan(ClusterPhase.CREATE, REF).steps
    assert create.title == "Create the Standard cluster llm-std"
    cluster = create.request.body["cluster"]
    assert cluster["initialNodeCount"] == 1
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "hangar-sandbox.svc.id.goog"}
    assert cluster["networkConfig"] == {"gatewayApiConfig": {"channel": "CHANNEL_STANDARD"}}
    assert cluster["monitoringConfig"]["componentConfig"]["enableComponents"] == [
        "SYSTEM_COMPONENTS",
        "DCGM",
    ]
    # The body is what the client library takes: it parses as a container_v1 Cluster.
    container_v1.Cluster.from_json(json.dumps(cluster))
    assert create.cli == (
        "gcloud container clusters create llm-std --project=hangar-sandbox "
        "--location=us-central1 --workload-pool=hangar-sandbox.svc.id.goog "
        "--release-channel=rapid --num-nodes=1 --enable-managed-prometheus "
        "--monitoring=SYSTEM,DCGM --gateway-api=standard --enable-ip-alias "
        "--addons=HttpLoadBalancing"
    )
    assert read.action == "container.read_cluster"


@pytest.mark.django_db
def test_a_standard_cluster_may_be_zonal_and_plans_as_standard():
    from clusters.rollout import plan_for_cluster

    admin = platform_admin("root")
    cluster = cluster_create(
        project="hangar-sandbox",
        location="us-central1-a",
        name="std",
        release_channel="RAPID",
        teams=[],
        by=admin,
        autopilot=False,
    )
    assert cluster.autopilot is False
    create = plan_for_cluster(cluster, ClusterPhase.CREATE).step("create_cluster")
    assert create.request.body["cluster"]["initialNodeCount"] == 1
