"""The real kubectl against a sandbox cluster, with the seeds' own manifests and commands:
what Kubernetes accepts is accepted, what it refuses is refused with its reason."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from tests.sandbox.kube.kubectl import Kubectl, make_cluster, needs_kubectl, wait_for
from tests.sandbox.kube.seed_manifests import SEED_003, SEED_004_VLLM

pytestmark = needs_kubectl

DEPLOYMENT = "vllm-gemma-deployment"
# Seed 003's Deployment with its weights named by Hugging Face id instead of a bucket the
# pod's account cannot read here, so that its pod comes up.
SEED_003_READY = SEED_003.replace("--model=gs://gemma-4-26b-it", "--model=google/gemma-4-26b-it")


@pytest.fixture
def kubectl(sandbox, sandbox_process, tmp_path) -> Kubectl:
    return make_cluster(sandbox_process.url, tmp_path)


def _write(kubectl: Kubectl, name: str, text: str) -> str:
    path = kubectl.kubeconfig.parent / name
    path.write_text(text)
    return str(path)


def _pods(kubectl: Kubectl, selector: str = "app=gemma-server") -> list[dict]:
    return list(kubectl.json("get", "pods", "-l", selector)["items"])


def _advance_clock(sandbox, seconds: float) -> None:
    reply = requests.post(
        f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=10
    )
    assert reply.status_code == 200, reply.text


def test_client_side_apply_with_default_validation_creates_then_patches(kubectl):
    manifest = _write(kubectl, "003.yaml", SEED_003)
    created = kubectl.out("apply", "-f", manifest)
    assert f"deployment.apps/{DEPLOYMENT} created" in created
    assert "computeclass.cloud.google.com/a3-edgegpu-8g-nolssd created" in created
    assert "service/llm-service created" in created
    assert f"deployment.apps/{DEPLOYMENT} unchanged" in kubectl.out("apply", "-f", manifest)

    # A changed argument: a strategic merge patch of the container (merged by name).
    _write(kubectl, "003.yaml", SEED_003.replace("--max-num-seqs=128", "--max-num-seqs=64"))
    assert f"deployment.apps/{DEPLOYMENT} configured" in kubectl.out("apply", "-f", manifest)
    deployment = kubectl.json("get", "deployment", DEPLOYMENT)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--max-num-seqs=64" in container["args"]
    assert "--max-num-seqs=128" not in container["args"]
    assert next(e["name"] for e in container["env"]) == "GOOGLE_CLOUD_UNIVERSE_DOMAIN"
    assert deployment["metadata"]["generation"] == 2
    last = json.loads(
        deployment["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert "--max-num-seqs=64" in last["spec"]["template"]["spec"]["containers"][0]["args"]


def test_server_side_apply_of_the_seed(kubectl):
    manifest = _write(kubectl, "003.yaml", SEED_003)
    applied = kubectl.out("apply", "--server-side", "-f", manifest)
    assert f"deployment.apps/{DEPLOYMENT} serverside-applied" in applied
    managers = kubectl.json("get", "deployment", DEPLOYMENT, "--show-managed-fields")
    assert managers["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert managers["metadata"]["managedFields"][0]["operation"] == "Apply"


def test_the_seeds_create_annotate_label_and_scale(kubectl):
    # Seed 003's service account and token, with its own commands.
    kubectl.out("create", "namespace", "team-ml")
    kubectl.out("create", "serviceaccount", "gemma", "--namespace", "team-ml")
    gsa = "gemma-reader@hangar-sandbox.iam.gserviceaccount.com"
    kubectl.out(
        "annotate",
        "serviceaccount",
        "gemma",
        "--namespace",
        "team-ml",
        f"iam.gke.io/gcp-service-account={gsa}",
    )
    kubectl.out(
        "create",
        "secret",
        "generic",
        "hf-secret",
        "--from-literal=hf_api_token=hf_x",
        "-n",
        "team-ml",
    )
    account = kubectl.json("get", "serviceaccount", "gemma", "-n", "team-ml")
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == gsa
    secret = kubectl.json("get", "secret", "hf-secret", "-n", "team-ml")
    assert secret["type"] == "Opaque" and secret["data"] == {"hf_api_token": "aGZfeA=="}

    kubectl.out("create", "-f", _write(kubectl, "003.yaml", SEED_003))
    kubectl.out("label", "deployment", DEPLOYMENT, "team=ml")
    assert kubectl.json("get", "deployment", DEPLOYMENT)["metadata"]["labels"] == {"team": "ml"}
    assert f"deployment.apps/{DEPLOYMENT} scaled" in kubectl.out(
        "scale", "deployment", DEPLOYMENT, "--replicas=2"
    )
    assert kubectl.json("get", "deployment", DEPLOYMENT)["spec"]["replicas"] == 2
    # Creating what exists is refused as Kubernetes refuses it.
    err = kubectl.refused("create", "serviceaccount", "gemma", "--namespace", "team-ml")
    assert 'serviceaccounts "gemma" already exists' in err


def test_get_prints_the_api_servers_columns(kubectl):
    kubectl.out("apply", "-f", _write(kubectl, "003.yaml", SEED_003_READY))
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    deployments = kubectl.out("get", "deployments").splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[:4] == [DEPLOYMENT, "1/1", "1", "1"]
    pods = kubectl.out("get", "pods").splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[1:4] == ["1/1", "Running", "0"]
    services = kubectl.out("get", "services", "llm-service").splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1].split()[1] == "ClusterIP" and services[1].split()[4] == "8080/TCP"
    nodes = kubectl.out("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1].split()[1] == "Ready"
    # A CRD's additionalPrinterColumns (GKE installs the Gateway API's on Autopilot).
    classes = kubectl.out("get", "gatewayclasses").splitlines()
    assert classes[0].split() == ["NAME", "CONTROLLER", "ACCEPTED", "AGE"]


def test_wait_and_watch_follow_the_rollout(kubectl):
    watcher = kubectl.start("get", "pods", "-w", "--request-timeout=20s")
    try:
        kubectl.out("apply", "-f", _write(kubectl, "003.yaml", SEED_003_READY))
        met = kubectl.out(
            "wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s"
        )
        assert f"deployment.apps/{DEPLOYMENT} condition met" in met
        time.sleep(1)  # the watch's next poll
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    statuses = [line.split()[1:3] for line in lines[1:]]
    assert ["0/1", "Pending"] in statuses and ["1/1", "Running"] in statuses
    # A watch times out as asked, and a wait that cannot be met ends at its deadline.
    refused = kubectl.run(
        "wait",
        "--for=condition=Progressing=False",
        f"deployment/{DEPLOYMENT}",
        "--timeout=1s",
        check=False,
    )
    assert refused.returncode != 0 and "timed out" in refused.stderr


def test_logs_are_the_model_servers_own(kubectl):
    kubectl.out("apply", "-f", _write(kubectl, "003.yaml", SEED_003_READY))
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    logs = kubectl.out("logs", f"deployment/{DEPLOYMENT}")
    assert "Starting vLLM API server 0 on http://0.0.0.0:8080" in logs
    assert "google/gemma-4-26b-it" in logs
    assert (
        kubectl.out("logs", "-l", "app=gemma-server", "--tail=1")
        .strip()
        .endswith("Application startup complete.")
    )
    pod = _pods(kubectl)[0]["metadata"]["name"]
    err = kubectl.refused("logs", pod, "-c", "sidecar")
    assert f"container sidecar is not valid for pod {pod}" in err

    # The seed as written: its bucket is not there, the container exits with the error.
    kubectl.out("apply", "-f", _write(kubectl, "003.yaml", SEED_003))
    wait_for(
        lambda: any(
            (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) > 0
            for p in _pods(kubectl)
        ),
        what="the pod to crash",
    )
    # The new template's pod crashes; the old one serves on until it is available (a
    # rolling update), and `kubectl logs deployment/...` would pick that ready one.
    broken = next(
        p["metadata"]["name"]
        for p in _pods(kubectl)
        if (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) > 0
    )
    crashed = kubectl.out("logs", broken)
    assert "404" in crashed and "The specified bucket does not exist." in crashed
    assert "Application startup complete." not in crashed


def test_delete_with_each_propagation_policy(kubectl, sandbox):
    manifest = _write(kubectl, "003.yaml", SEED_003_READY)
    kubectl.out("apply", "-f", manifest)
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    assert len(_pods(kubectl)) == 1 and kubectl.json("get", "nodes")["items"]

    # Background (kubectl's default): the pods go with the Deployment ...
    kubectl.out("delete", "deployment", DEPLOYMENT)
    assert _pods(kubectl) == []
    # ... so Autopilot's node, unneeded for the autoscaler's 10 minutes, goes too.
    _advance_clock(sandbox, 601)
    assert wait_for(lambda: not kubectl.json("get", "nodes")["items"], what="the node to go")

    # Orphan: the ReplicaSet stays, no longer owned, and keeps its pod.
    kubectl.out("apply", "-f", manifest)
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    kubectl.out("delete", "deployment", DEPLOYMENT, "--cascade=orphan")
    (orphan,) = kubectl.json("get", "replicasets")["items"]
    assert "ownerReferences" not in orphan["metadata"]
    (pod,) = _pods(kubectl)
    assert pod["metadata"]["ownerReferences"][0]["uid"] == orphan["metadata"]["uid"]
    kubectl.out("delete", "replicasets", "-l", "app=gemma-server")
    assert wait_for(lambda: _pods(kubectl) == [], what="the orphan's pod collected")

    # Foreground: the owner is held (deletionTimestamp, foregroundDeletion) until its
    # dependents are gone; kubectl waits for it.
    kubectl.out("apply", "-f", manifest)
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    kubectl.out("delete", "deployment", DEPLOYMENT, "--cascade=foreground", "--wait=false")
    held = kubectl.api("GET", f"/apis/apps/v1/namespaces/default/deployments/{DEPLOYMENT}")
    if held.status_code == 200:  # still within the sandbox's operation delay
        assert "foregroundDeletion" in held.json()["metadata"]["finalizers"]
        assert held.json()["metadata"]["deletionTimestamp"]
    assert _pods(kubectl) == []
    kubectl.out("wait", "--for=delete", f"deployment/{DEPLOYMENT}", "--timeout=20s")


def test_what_kubernetes_refuses_is_refused_with_its_reason(kubectl):
    seed = SEED_003.replace(
        "      - name: inference-server\n", "      - name: inference-server\n        gpus: 1\n"
    )
    bad = _write(kubectl, "bad.yaml", seed)
    # Client-side apply with kubectl's default (strict) validation: the server decides.
    err = kubectl.refused("apply", "-f", bad, "--validate=strict")
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].gpus"' in err
    err = kubectl.refused("apply", "--server-side", "-f", bad)
    assert ".spec.template.spec.containers[0].gpus: field not declared in schema" in err
    # --validate=warn: dropped, with the server's warning.
    warned = kubectl.run("apply", "-f", bad, "--validate=warn")
    assert warned.returncode == 0
    assert 'unknown field "spec.template.spec.containers[0].gpus"' in warned.stderr
    assert (
        "gpus"
        not in kubectl.json("get", "deployment", DEPLOYMENT)["spec"]["template"]["spec"][
            "containers"
        ][0]
    )

    err = kubectl.refused("create", "namespace", "Team_ML")
    assert 'The Namespace "Team_ML" is invalid: metadata.name: Invalid value: "Team_ML"' in err
    # Seed 004's LoRA syncer sets restartPolicy on a regular container: refused.
    err = kubectl.refused("apply", "-f", _write(kubectl, "004.yaml", SEED_004_VLLM))
    assert (
        "spec.template.spec.containers[1].restartPolicy: Forbidden: may not be set for "
        "non-init containers" in err
    )


def test_kubectls_secret_writes_leave_no_value_in_the_request_log(kubectl, sandbox):
    token = "hf_KubectlCanary0123456789"
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hf-secret\n"
        f"stringData:\n  hf_api_token: {token}\n"
    )
    manifest = _write(kubectl, "secret.yaml", secret)
    kubectl.out("apply", "-f", manifest)  # POST, with the last-applied annotation
    _write(kubectl, "secret.yaml", secret.replace(token, token + "X"))
    kubectl.out("apply", "-f", manifest)  # a strategic merge patch of that annotation
    kubectl.out("create", "secret", "generic", "hf-2", f"--from-literal=hf_api_token={token}")
    held = kubectl.json("get", "secret", "hf-secret")
    assert "hf_api_token" in held["data"]  # the API server keeps and returns it
    logged = json.dumps(sandbox.requests())
    assert "/secrets" in logged
    for form in (token, base64.b64encode(token.encode()).decode()[:-4]):
        assert form not in logged


def test_logs_follow_streams_until_the_pod_goes(kubectl):
    kubectl.out("apply", "-f", _write(kubectl, "003.yaml", SEED_003_READY))
    kubectl.out("wait", "--for=condition=Available", f"deployment/{DEPLOYMENT}", "--timeout=30s")
    # Seed 003's own command: kubectl logs -f -l app=gemma-server
    follower = kubectl.start("logs", "-f", "-l", "app=gemma-server")
    try:
        time.sleep(1.5)
        assert follower.poll() is None, "kubectl logs -f ended while the pod runs"
        kubectl.out("delete", "deployment", DEPLOYMENT)
        out, _ = follower.communicate(timeout=20)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0
    assert "Application startup complete." in out
