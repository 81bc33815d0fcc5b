"""Autopilot makes one node per pending GPU pod of a ComputeClass, within the project's
GPU quota in the region (the Cloud Quotas L4 limit, `/_sandbox/iam` `gpu_quota`), and
removes a node once it has been empty for the autoscaler's 10 minutes."""

import pytest

from gcp import kube
from tests.sandbox.kube.kubectl import wait_for as wait
from tests.sandbox.kube.test_scheduling import NS, condition, deployment, events, pods, read

pytestmark = pytest.mark.django_db
L4_CLASS = {
    "apiVersion": "cloud.google.com/v1",
    "kind": "ComputeClass",
    "metadata": {"name": "l4"},
    "spec": {
        "priorities": [{"machineType": "g2-standard-8", "gpu": {"type": "nvidia-l4", "count": 1}}],
        "nodePoolAutoCreation": {"enabled": True},
    },
}


@pytest.fixture
def conn(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    made = make_conn.__wrapped__(sandbox, sandbox_process)
    kube.apply(made, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube.apply(made, L4_CLASS)
    return made


def l4_nodes(conn) -> list[dict]:
    return [
        n
        for n in kube.list_objects(conn, "v1", "Node", None)
        if n["metadata"]["labels"].get("cloud.google.com/gke-accelerator") == "nvidia-l4"
    ]


def test_one_node_per_pending_gpu_pod_within_the_quota(sandbox, conn):
    sandbox.iam(gpu_quota={"us-central1": 2})
    selector = {"nodeSelector": {"cloud.google.com/compute-class": "l4"}}
    kube.apply(conn, deployment("vllm", 3, pod=selector))
    wait(lambda: len(pods(conn, "vllm")) == 3, what="three pods")
    # Two nodes of one L4 each (the quota), each with one pod; the third pod waits.
    wait(
        lambda: sum(1 for p in pods(conn, "vllm") if p["status"]["phase"] == "Running") == 2,
        what="two pods running",
    )
    nodes = l4_nodes(conn)
    assert len(nodes) == 2
    assert {n["metadata"]["labels"]["cloud.google.com/compute-class"] for n in nodes} == {"l4"}
    hosts = [p["spec"].get("nodeName") for p in pods(conn, "vllm")]
    assert sorted(h for h in hosts if h) == sorted(n["metadata"]["name"] for n in nodes)
    assert len(events(conn, "TriggeredScaleUp")) == 2
    (refused,) = wait(lambda: events(conn, "NotTriggerScaleUp"), what="NotTriggerScaleUp")
    assert "Quota 'NVIDIA_L4_GPUS' exceeded. Limit: 2.0 in region us-central1" in refused["message"]
    assert condition(read(conn, "vllm"), "Available")["status"] == "False"

    # More quota: the autoscaler makes the third node and the Deployment is Available.
    sandbox.iam(gpu_quota={"us-central1": 3})
    wait(
        lambda: condition(read(conn, "vllm"), "Available")["status"] == "True",
        what="Available",
    )
    assert len(l4_nodes(conn)) == 3


def test_empty_nodes_go_after_ten_minutes(sandbox, conn):
    sandbox.iam(gpu_quota={"us-central1": 4})
    selector = {"nodeSelector": {"cloud.google.com/compute-class": "l4"}}
    kube.apply(conn, deployment("vllm", 2, pod=selector))
    wait(lambda: read(conn, "vllm")["status"].get("availableReplicas") == 2, what="2 available")
    assert len(l4_nodes(conn)) == 2
    kube.apply(conn, deployment("vllm", 1, pod=selector))  # one pod, one node unneeded
    wait(lambda: len(pods(conn, "vllm")) == 1, what="one pod")
    sandbox._call("POST", "clock", json={"advance_seconds": 0})
    assert len(l4_nodes(conn)) == 2  # unneeded, not yet for 10 minutes
    sandbox._call("POST", "clock", json={"advance_seconds": 601})
    wait(lambda: len(l4_nodes(conn)) == 1, what="the empty node removed")
    (pod,) = pods(conn, "vllm")
    assert pod["spec"]["nodeName"] == l4_nodes(conn)[0]["metadata"]["name"]
