"""GPU node pools as plan steps (deployments/targets/gke_inference_gateway/node_pools.py):
the exact requests, then the same requests sent by the target's own executors to the
sandbox, where a node pool waits until the cluster's operation is DONE; and the check
that a cluster has what the Inference Gateway needs."""

import json
import time
from typing import Any

from google.cloud import container_v1

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan
from deployments.choices import OWNER_KIND
from deployments.targets.gke_inference_gateway.node_pools import (
    GpuNodePool,
    check_gateway_cluster_step,
    create_node_pool_step,
    delete_node_pool_step,
)
from gcp import container
from runbook.owners import StepClaim
from runbook.results import Succeeded, Waiting
from runbook.runner import executor_for
from tests.step_claims import step_claim

REF = ClusterRef("hangar-sandbox", "us-central1", "llm-std", "RAPID", autopilot=False)
POOL = GpuNodePool(
    cluster=REF.resource_name,
    name="gpupool",
    machine_type="a3-highgpu-2g",
    accelerator="nvidia-h100-80gb",
    gpus_per_node=2,
    locations=("us-central1-a",),
    spot=True,
    labels={"hangar-deployment": "llama"},
)


def test_gpu_pool_is_seed_004s_node_pool_bought_as_spot():
    step = create_node_pool_step(POOL, billing="starts")
    assert step.request.path == f"/v1/{REF.resource_name}/nodePools"
    pool = step.request.body["nodePool"]
    assert pool["initialNodeCount"] == 1 and pool["locations"] == ["us-central1-a"]
    assert pool["config"]["accelerators"] == [
        {
            "acceleratorType": "nvidia-h100-80gb",
            "acceleratorCount": "2",
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        }
    ]
    assert pool["config"]["spot"] is True and "flexStart" not in pool["config"]
    assert pool["config"]["labels"]["managed-by"] == "hangar"
    container_v1.NodePool.from_json(json.dumps(pool))
    assert step.cli == (
        "gcloud container node-pools create gpupool --cluster=llm-std --location=us-central1 "
        "--machine-type=a3-highgpu-2g --accelerator type=nvidia-h100-80gb,count=2,"
        "gpu-driver-version=latest --node-locations=us-central1-a --spot --num-nodes=1 "
        "--disk-size=200 --disk-type=pd-balanced --workload-metadata=GKE_METADATA"
    )
    # The nodes' identity as gcloud sends it without --service-account or --scopes, and the
    # boot disk the estimate prices.
    assert pool["config"]["serviceAccount"] == "default"
    assert pool["config"]["oauthScopes"] == [
        "https://www.googleapis.com/auth/devstorage.read_only",
        "https://www.googleapis.com/auth/logging.write",
        "https://www.googleapis.com/auth/monitoring",
        "https://www.googleapis.com/auth/service.management.readonly",
        "https://www.googleapis.com/auth/servicecontrol",
        "https://www.googleapis.com/auth/trace.append",
    ]
    assert (pool["config"]["diskSizeGb"], pool["config"]["diskType"]) == (200, "pd-balanced")
    flex = create_node_pool_step(
        GpuNodePool(**{**POOL.__dict__, "spot": False, "flex_start": True})
    ).request.body
    assert flex["nodePool"]["config"]["flexStart"] is True
    assert flex["nodePool"]["autoscaling"] == {
        "enabled": True,
        "minNodeCount": 0,
        "maxNodeCount": 1,
    }


def _claim(step, operation: str = "") -> StepClaim:
    return step_claim(step, operation)


def _until_done(step, first: Any, timeout: float = 20) -> Succeeded:
    deadline = time.monotonic() + timeout
    result = first
    while time.monotonic() < deadline:
        if isinstance(result, Succeeded):
            return result
        assert isinstance(result, Waiting), result
        time.sleep(0.1)
        result = executor_for(OWNER_KIND, step.action)(_claim(step, result.operation))
    raise AssertionError(f"{step.key} still waiting: {result}")


def test_node_pool_steps_wait_for_the_cluster_then_create_and_delete(sandbox):
    sandbox.config(operation_delay=1.0)
    create_cluster = cluster_plan(ClusterPhase.CREATE, REF).step("create_cluster")
    op = container.create_cluster(parent=REF.parent, body=create_cluster.request.body)
    step = create_node_pool_step(POOL)
    busy = executor_for(OWNER_KIND, step.action)(_claim(step))
    assert isinstance(busy, Waiting) and busy.operation == ""
    assert "busy with another operation" in busy.message

    deadline = time.monotonic() + 20
    while not container.operation_state(op).done:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    info = container.get_cluster(REF.resource_name)
    assert info.gateway_api == "CHANNEL_STANDARD" and info.vpc_native
    assert info.managed_prometheus and "DCGM" in info.monitoring

    started = executor_for(OWNER_KIND, step.action)(_claim(step))
    assert isinstance(started, Waiting) and started.operation
    _until_done(step, started)
    assert container.node_pool_status(POOL.resource_name) == "RUNNING"
    again = executor_for(OWNER_KIND, step.action)(_claim(step))  # a create resumed after a crash
    assert isinstance(again, Succeeded) and "already exists" in again.message

    delete = delete_node_pool_step(POOL)
    _until_done(delete, executor_for(OWNER_KIND, delete.action)(_claim(delete)))
    assert container.node_pool_status(POOL.resource_name) is None
    gone = executor_for(OWNER_KIND, delete.action)(_claim(delete))
    assert isinstance(gone, Succeeded) and "already gone" in gone.message


def test_a_registered_cluster_is_checked_for_what_the_gateway_needs(sandbox):
    seed = cluster_plan(ClusterPhase.CREATE, REF).step("create_cluster").request.body
    # GKE makes a new cluster VPC-native unless it asks for routes
    # (https://cloud.google.com/kubernetes-engine/docs/concepts/alias-ips): a routes-based one
    # is asked for, to keep the gap this check names.
    bare = {
        "cluster": {
            "name": "bare",
            "initialNodeCount": 1,
            "ipAllocationPolicy": {"useRoutes": True},
        }
    }
    for body in (seed, bare):
        op = container.create_cluster(parent=REF.parent, body=body)
        deadline = time.monotonic() + 20
        while not container.operation_state(op).done:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    ok = executor_for(OWNER_KIND, "container.check_gateway_cluster")(
        _claim(check_gateway_cluster_step(REF.resource_name))
    )
    assert isinstance(ok, Succeeded)
    step = check_gateway_cluster_step(f"{REF.parent}/clusters/bare")
    refused = executor_for(OWNER_KIND, step.action)(_claim(step))
    assert not isinstance(refused, Succeeded | Waiting)
    for gap in (
        "--gateway-api=standard",
        "not VPC-native",
        "--workload-pool",
        "--monitoring=SYSTEM,DCGM",
    ):
        assert gap in refused.error
