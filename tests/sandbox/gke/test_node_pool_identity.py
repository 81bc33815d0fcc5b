"""A node pool's identity as GKE keeps it: the service account and OAuth scopes a create
request sends come back on `get` as sent; a request that names neither gets the Compute
Engine default account and only the scopes the API itself adds (logging and monitoring,
NodeConfig.oauthScopes), not gcloud's six; and Hangar's own GPU pool request keeps gcloud's."""

import json

from google.cloud import container_v1 as c

from deployments.targets.gke_inference_gateway.node_pools import (
    NODE_OAUTH_SCOPES,
    GpuNodePool,
    node_pool_body,
)
from tests.sandbox.gke.test_clusters import PARENT, wait_done
from tests.sandbox.gke.test_node_pools import CLUSTER, gke, gpu_pool, seed_cluster  # noqa: F401

LOGGING_AND_MONITORING = [
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
]


def _create(gke, pool: c.NodePool) -> c.NodePool:  # noqa: F811
    wait_done(gke, PARENT, gke.create_node_pool(parent=CLUSTER, node_pool=pool))
    return gke.get_node_pool(name=f"{CLUSTER}/nodePools/{pool.name}")


def test_a_pools_service_account_and_scopes_are_kept_or_filled_as_gke_does(sandbox, gke):  # noqa: F811
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=seed_cluster()))
    named = gpu_pool(
        service_account="nodes@hangar-sandbox.iam.gserviceaccount.com",
        oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
    )
    kept = _create(gke, named)
    assert kept.config.service_account == "nodes@hangar-sandbox.iam.gserviceaccount.com"
    assert list(kept.config.oauth_scopes) == ["https://www.googleapis.com/auth/cloud-platform"]
    wait_done(gke, PARENT, gke.delete_node_pool(name=f"{CLUSTER}/nodePools/gpupool"))

    bare = _create(gke, gpu_pool())
    assert bare.config.service_account == "default"
    assert list(bare.config.oauth_scopes) == LOGGING_AND_MONITORING
    wait_done(gke, PARENT, gke.delete_node_pool(name=f"{CLUSTER}/nodePools/gpupool"))

    hangars = GpuNodePool(
        cluster=CLUSTER,
        name="gpupool",
        machine_type="a3-highgpu-2g",
        accelerator="nvidia-h100-80gb",
        gpus_per_node=2,
        locations=("us-central1-a",),
    )
    body = node_pool_body(hangars)["nodePool"]
    made = _create(gke, c.NodePool.from_json(json.dumps(body)))
    assert made.config.service_account == "default"
    assert tuple(made.config.oauth_scopes) == NODE_OAUTH_SCOPES
    assert (made.config.disk_size_gb, made.config.disk_type) == (200, "pd-balanced")
