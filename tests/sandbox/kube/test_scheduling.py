"""Scheduling as Kubernetes does it: a Deployment's ReplicaSet, one pod per replica, each
on a node with GPUs to spare or Pending with the scheduler's FailedScheduling; Available
only at replicas - maxUnavailable; a Standard pool grows only with autoscaling on;
Autopilot makes one node per pending GPU pod, within the project's GPU quota."""

import time

import pytest
from google.cloud import container_v1 as c

from gcp import kube
from tests.sandbox.gke.test_clusters import PARENT, wait_done
from tests.sandbox.gke.test_node_pools import gke, gpu_pool, seed_cluster  # noqa: F401
from tests.sandbox.kube.kubectl import wait_for

pytestmark = pytest.mark.django_db
CLUSTER = f"{PARENT}/clusters/llm-std"
NS = "ml"


def standard(gke, pool: c.NodePool, name: str = "llm-std") -> kube.ClusterConn:  # noqa: F811
    """A Standard cluster whose only pool is `pool` (no default pool)."""
    cluster = seed_cluster(name=name, initial_node_count=0, node_pools=[pool])
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=cluster))
    got = gke.get_cluster(name=f"{PARENT}/clusters/{name}")
    conn = kube.ClusterConn(got.endpoint, got.master_auth.cluster_ca_certificate)
    kube.apply(conn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return conn


def deployment(name: str, replicas: int, gpus: int = 1, **spec) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.12.0",
                            "args": ["--model=google/gemma-3-1b-it"],
                            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                        }
                    ],
                    **spec.pop("pod", {}),
                },
            },
            **spec,
        },
    }


def pods(conn, app: str) -> list[dict]:
    return kube.list_objects(conn, "v1", "Pod", NS, label_selector=f"app={app}")


def read(conn, name: str) -> dict:
    found = kube.read(conn, "apps/v1", "Deployment", name, NS)
    assert found is not None, name
    return found


def condition(obj: dict, kind: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == kind)


def events(conn, reason: str) -> list[dict]:
    return [e for e in kube.list_objects(conn, "v1", "Event", NS) if e["reason"] == reason]


def settled(conn, app: str, running: int, pending: int) -> list[dict]:
    def look():
        found = pods(conn, app)
        phases = sorted(p["status"]["phase"] for p in found)
        ready = [p for p in found if p["status"]["phase"] == "Running"]
        ok = phases == ["Pending"] * pending + ["Running"] * running
        return (
            ok
            and all((p["status"].get("containerStatuses") or [{}])[0].get("ready") for p in ready)
            and found
        )

    return wait_for(look, what=f"{running} running, {pending} pending")


def test_three_one_gpu_replicas_on_one_two_gpu_node(sandbox, gke):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    conn = standard(gke, gpu_pool())  # one a3-highgpu-2g node: two H100s
    kube.apply(conn, deployment("vllm", 3))
    found = settled(conn, "vllm", running=2, pending=1)
    # A ReplicaSet named after the template's hash, owned by the Deployment; its pods
    # carry the hash and are owned by it.
    (rs,) = kube.list_objects(conn, "apps/v1", "ReplicaSet", NS)
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"vllm-{digest}"
    assert rs["metadata"]["ownerReferences"][0]["name"] == "vllm"
    assert rs["spec"]["replicas"] == 3 and rs["status"]["replicas"] == 3
    for pod in found:
        assert pod["metadata"]["labels"]["pod-template-hash"] == digest
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    node = kube.list_objects(conn, "v1", "Node", None)
    assert [n["status"]["allocatable"]["nvidia.com/gpu"] for n in node] == ["2"]
    (pending,) = [p for p in found if p["status"]["phase"] == "Pending"]
    said = [e for e in events(conn, "FailedScheduling")]
    assert [e["involvedObject"]["name"] for e in said] == [pending["metadata"]["name"]]
    assert said[0]["message"] == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
    assert said[0]["type"] == "Warning"
    status = read(conn, "vllm")["status"]
    assert (status["replicas"], status["updatedReplicas"]) == (3, 3)
    assert (status["readyReplicas"], status["availableReplicas"]) == (2, 2)
    assert status["unavailableReplicas"] == 1
    # 25 % of 3 rounds down to 0 unavailable allowed: 2 available is not enough.
    assert condition(read(conn, "vllm"), "Available")["status"] == "False"
    # The pool has no autoscaling: nothing grows, the pod stays Pending.
    time.sleep(0.6)
    assert len(kube.list_objects(conn, "v1", "Node", None)) == 1
    assert not events(conn, "TriggeredScaleUp")
    assert sorted(p["status"]["phase"] for p in pods(conn, "vllm")) == ["Pending", *["Running"] * 2]

    # Scaling the cluster (another node with two H100s) lets the pending pod schedule.
    second = c.NodePool(
        name="gpupool2", initial_node_count=1, locations=["us-central1-a"], config=gpu_pool().config
    )
    wait_done(gke, PARENT, gke.create_node_pool(parent=CLUSTER, node_pool=second))
    settled(conn, "vllm", running=3, pending=0)
    done = wait_for(
        lambda: condition(d := read(conn, "vllm"), "Available")["status"] == "True" and d,
        what="Available",
    )
    assert done["status"]["availableReplicas"] == 3
    assert condition(done, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_maxunavailable_rounds_down_and_lets_fewer_be_available(sandbox, gke):  # noqa: F811
    """With 4 replicas 25 % allows one unavailable: 3 of 4 on three GPUs is Available
    (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-unavailable)."""
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    pool = gpu_pool()
    pool.initial_node_count = 1
    conn = standard(gke, pool)
    kube.apply(conn, deployment("three", 4, gpus=1, pod={}))
    settled(conn, "three", running=2, pending=2)
    assert condition(read(conn, "three"), "Available")["status"] == "False"
    kube.apply(conn, deployment("three", 3, gpus=1))  # scale 4 -> 3: 2 of 3, 0 unavailable
    wait_for(lambda: len(pods(conn, "three")) == 3, what="a pod removed")
    # The Pending pod goes first when a ReplicaSet scales down.
    assert sorted(p["status"]["phase"] for p in pods(conn, "three")) == [
        "Pending",
        "Running",
        "Running",
    ]
    four = deployment("three", 4, strategy={"rollingUpdate": {"maxUnavailable": 2}})
    kube.apply(conn, four)
    wait_for(
        lambda: condition(read(conn, "three"), "Available")["status"] == "True",
        what="Available with 2 of 4 (maxUnavailable 2)",
    )


def test_an_autoscaled_pool_grows_for_the_pending_pod(sandbox, gke):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    pool = gpu_pool()
    pool.autoscaling = c.NodePoolAutoscaling(enabled=True, min_node_count=1, max_node_count=2)
    conn = standard(gke, pool)
    kube.apply(conn, deployment("vllm", 5))
    # Two nodes at most (max_node_count 2 in its one zone): 4 run, 1 stays Pending.
    settled(conn, "vllm", running=4, pending=1)
    assert len(kube.list_objects(conn, "v1", "Node", None)) == 2
    (grew,) = events(conn, "TriggeredScaleUp")
    assert "gpupool 1->2 (max: 2)" in grew["message"]
    stuck = wait_for(lambda: events(conn, "NotTriggerScaleUp"), what="NotTriggerScaleUp")
    assert "max node group size reached" in stuck[0]["message"]
    # 25 % of 5 rounds down to one unavailable allowed: 4 of 5 is minimum availability.
    assert condition(read(conn, "vllm"), "Available")["status"] == "True"
    assert condition(read(conn, "vllm"), "Progressing")["reason"] == "ReplicaSetUpdated"


def test_a_rolling_update_keeps_the_old_pod_until_the_new_one_is_ready(sandbox, gke):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.5)
    conn = standard(gke, gpu_pool())
    kube.apply(conn, deployment("vllm", 2))
    settled(conn, "vllm", running=2, pending=0)
    changed = deployment("vllm", 2)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "vllm/vllm-openai:v0.13.0"
    kube.apply(conn, changed)
    # maxSurge 1 (25 % of 2 rounded up), maxUnavailable 0: one new pod, and no GPU for
    # it on the node, so the old two stay and the rollout waits.
    time.sleep(0.8)
    rss = kube.list_objects(conn, "apps/v1", "ReplicaSet", NS)
    by_revision = {
        r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r for r in rss
    }
    assert by_revision["1"]["spec"]["replicas"] == 2
    assert by_revision["2"]["spec"]["replicas"] == 1
    status = read(conn, "vllm")["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 1, 2)
    assert condition(read(conn, "vllm"), "Available")["status"] == "True"
    # The deadline passes with nothing moving: Progressing False, as the controller says.
    changed["spec"]["progressDeadlineSeconds"] = 1
    kube.apply(conn, changed)
    late = wait_for(
        lambda: (
            condition(d := read(conn, "vllm"), "Progressing")["reason"]
            == "ProgressDeadlineExceeded"
            and d
        ),
        what="ProgressDeadlineExceeded",
    )
    assert condition(late, "Progressing")["status"] == "False"
    # With GPUs for everyone (maxUnavailable 1), the rollout finishes on the new template.
    changed["spec"]["strategy"] = {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    kube.apply(conn, changed)
    done = wait_for(
        lambda: (
            condition(d := read(conn, "vllm"), "Progressing")["reason"] == "NewReplicaSetAvailable"
            and d
        ),
        what="the rollout to finish",
    )
    assert done["status"]["updatedReplicas"] == 2 and done["status"]["replicas"] == 2
    images = {p["spec"]["containers"][0]["image"] for p in pods(conn, "vllm")}
    assert images == {"vllm/vllm-openai:v0.13.0"}


def test_deleting_the_deployment_collects_replicasets_and_pods(sandbox, gke):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    conn = standard(gke, gpu_pool())
    kube.apply(conn, deployment("vllm", 2))
    settled(conn, "vllm", running=2, pending=0)
    kube.delete(conn, "apps/v1", "Deployment", "vllm", NS)
    wait_for(
        lambda: not kube.list_objects(conn, "apps/v1", "ReplicaSet", NS) and not pods(conn, "vllm"),
        what="the ReplicaSet and pods collected",
    )
