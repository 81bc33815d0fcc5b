"""What Kubernetes reports as final fails the wait for a Deployment at once, naming the
cause: the namespace's ResourceQuota (played by a sandbox cluster), an image pull error,
a pod no node pool can grow to fit. Slow is not final: a pod still being scheduled waits."""

from datetime import UTC, datetime

import pytest

from deployments.targets.kube_steps import wait_available_step
from runbook.executors import kube_rollout
from runbook.owners import StepClaim
from runbook.results import Failed, Waiting
from tests.deployments.targets.test_gke_vllm_manifests import NS, server
from tests.runbook.test_kube_workloads import UNIVERSE, apply_all, conn  # noqa: F401

pytestmark = pytest.mark.django_db

STEP = wait_available_step(cluster=1, namespace=NS, name="gemma-26b", selector={"app": "gemma-26b"})


def claim_on(cluster_conn, started_at=None) -> StepClaim:
    return StepClaim(
        owner_kind="deployment",
        owner_id=1,
        run_id=1,
        lease_owner="t",
        step=STEP,
        operation="",
        retries=0,
        started_at=started_at or datetime.now(UTC),
        cluster=cluster_conn,
    )


def test_a_pod_the_resource_quota_refuses_fails_at_once_naming_the_quota(sandbox, conn):  # noqa: F811
    apply_all(conn, server(universe=UNIVERSE), quota=0)
    result = kube_rollout.wait_available(claim_on(conn))
    assert isinstance(result, Failed)
    assert "exceeded quota: hangar-gpus" in result.error
    assert "requests.nvidia.com/gpu" in result.error
    assert f"ResourceQuota hangar-gpus in {NS}" in result.hint


def test_a_pod_no_node_can_be_made_for_fails_at_once_saying_why(sandbox, conn):  # noqa: F811
    started = datetime.now(UTC)
    s = server(universe=UNIVERSE, gpus=2, node_gpus=1, machine_type="a3-highgpu-1g")
    apply_all(conn, s)
    result = kube_rollout.wait_available(claim_on(conn, started))
    assert isinstance(result, Failed)
    assert "No node pool can grow to fit the pod" in result.error
    assert "pod didn't trigger scale-up" in result.error
    assert "Insufficient nvidia.com/gpu" in result.error


def test_a_pod_being_scheduled_is_waited_for(sandbox, conn):  # noqa: F811
    sandbox.config(operation_delay=30)  # GKE still provisioning its node
    apply_all(conn, server(universe=UNIVERSE))
    result = kube_rollout.wait_available(claim_on(conn))
    assert isinstance(result, Waiting)


def _pod(reason: str, message: str) -> dict:
    return {
        "metadata": {"name": "gemma-26b-abc"},
        "status": {
            "containerStatuses": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:v9.9.9",
                    "state": {"waiting": {"reason": reason, "message": message}},
                    "restartCount": 0,
                }
            ]
        },
    }


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_an_image_pull_error_names_the_image(reason):
    said = kube_rollout._image_pull_error([_pod(reason, "manifest unknown")])
    assert said == f"vllm/vllm-openai:v9.9.9 ({reason}: manifest unknown)"
    assert kube_rollout._image_pull_error([_pod("ContainerCreating", "")]) == ""


def _event(reason: str, message: str, at: str, version: int) -> dict:
    return {
        "metadata": {"name": f"e{version}", "resourceVersion": str(version)},
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
    }


def test_no_node_pool_able_to_grow_is_final_only_when_seen_during_this_wait():
    started = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    said = "pod didn't trigger scale-up: 1 max node group size reached"
    old = _event("NotTriggerScaleUp", said, "2026-12-07T11:00:00Z", 1)
    assert kube_rollout._final([old], started, "NotTriggerScaleUp", "") == ""
    new = _event("NotTriggerScaleUp", said, "2026-12-07T12:00:05Z", 2)
    assert kube_rollout._final([old, new], started, "NotTriggerScaleUp", "") == said
