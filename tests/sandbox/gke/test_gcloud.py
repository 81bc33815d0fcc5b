"""The real gcloud against the sandbox's GKE with the seeds' own commands (003: create-auto,
004: a Standard cluster and its GPU pool): GKE accepts what gcloud sends, fills in what
`describe` and `list` show, refuses what GKE refuses with its reason, and the kubeconfig
gcloud writes (through gke-gcloud-auth-plugin) reaches the cluster's API server."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.sandbox.gcloud import Gcloud, gcloud_for, needs_gcloud

pytestmark = needs_gcloud

REGION = "us-central1"
VERSION = "1.34.1-gke.1829001"
REGIONAL_ZONES = [f"{REGION}-a", f"{REGION}-b", f"{REGION}-c"]


@pytest.fixture
def gcloud(sandbox, sandbox_process, tmp_path) -> Gcloud:
    return gcloud_for(sandbox_process.url, tmp_path)


def test_create_auto_as_seed_003_writes_it_then_describe_and_list(gcloud: Gcloud):
    # Seed 003, verbatim: gcloud sends a default node pool with the nodes' scopes.
    gcloud.run(
        "container", "clusters", "create-auto", "gemma-ap",
        f"--project={gcloud.env['CLOUDSDK_CORE_PROJECT']}",
        f"--location={REGION}",
        "--release-channel=rapid",
    )  # fmt: skip
    cluster = gcloud.json("container", "clusters", "describe", "gemma-ap", f"--location={REGION}")
    assert cluster["autopilot"] == {"enabled": True}
    assert cluster["status"] == "RUNNING"
    assert cluster["releaseChannel"] == {"channel": "RAPID"}
    assert cluster["currentMasterVersion"] == cluster["currentNodeVersion"] == VERSION
    assert cluster["locations"] == REGIONAL_ZONES
    assert cluster["endpoint"].startswith("127.0.0.1:")
    assert cluster["selfLink"].endswith(
        f"/v1/projects/hangar-sandbox/locations/{REGION}/clusters/gemma-ap"
    )
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "hangar-sandbox.svc.id.goog"}
    assert cluster["ipAllocationPolicy"]["useIpAliases"] is True

    listed = gcloud.json("container", "clusters", "list")
    assert [(c["name"], c["location"], c["status"]) for c in listed] == [
        ("gemma-ap", REGION, "RUNNING")
    ]

    # The seed's clean-up.
    gcloud.run("container", "clusters", "delete", "gemma-ap", f"--location={REGION}", "--quiet")
    assert gcloud.json("container", "clusters", "list") == []


def test_standard_cluster_as_seed_004_with_its_gpu_pool(gcloud: Gcloud):
    # Seed 004's flags, verbatim: no --enable-ip-alias (VPC-native by default), yet the
    # Gateway API, which needs VPC-native.
    gcloud.run(
        "container", "clusters", "create", "gemma-std",
        "--project=hangar-sandbox",
        f"--location={REGION}",
        "--workload-pool=hangar-sandbox.svc.id.goog",
        "--release-channel=rapid",
        "--num-nodes=1",
        "--enable-managed-prometheus",
        "--monitoring=SYSTEM,DCGM",
        "--gateway-api=standard",
    )  # fmt: skip
    cluster = gcloud.json("container", "clusters", "describe", "gemma-std", f"--location={REGION}")
    assert cluster["status"] == "RUNNING"
    assert cluster["currentNodeVersion"] == VERSION
    assert cluster["currentNodeCount"] == 3  # one node in each of the region's three zones
    assert cluster["ipAllocationPolicy"]["useIpAliases"] is True
    assert cluster["networkConfig"]["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}
    (default,) = cluster["nodePools"]
    assert default["name"] == "default-pool"
    assert default["initialNodeCount"] == 1
    assert default["locations"] == REGIONAL_ZONES
    assert default["version"] == VERSION
    assert default["status"] == "RUNNING"
    assert default["config"]["machineType"] == "e2-medium"
    assert (default["config"]["diskSizeGb"], default["config"]["diskType"]) == (100, "pd-balanced")

    # Seed 004's GPU pool, verbatim.
    gcloud.run(
        "container", "node-pools", "create", "gpupool",
        "--accelerator", "type=nvidia-h100-80gb,count=2,gpu-driver-version=latest",
        "--project=hangar-sandbox",
        f"--location={REGION}",
        f"--node-locations={REGION}-a",
        "--cluster=gemma-std",
        "--machine-type=a3-highgpu-2g",
        "--num-nodes=1",
    )  # fmt: skip
    pools = gcloud.json(
        "container", "node-pools", "list", "--cluster=gemma-std", f"--location={REGION}"
    )
    assert [p["name"] for p in pools] == ["default-pool", "gpupool"]
    gpu = gcloud.json(
        "container", "node-pools", "describe", "gpupool", "--cluster=gemma-std", f"--location={REGION}"
    )  # fmt: skip
    assert gpu["config"]["machineType"] == "a3-highgpu-2g"
    accel = gpu["config"]["accelerators"][0]
    assert (accel["acceleratorType"], accel["acceleratorCount"]) == ("nvidia-h100-80gb", "2")
    assert accel["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}
    assert gpu["locations"] == [f"{REGION}-a"]
    assert (gpu["version"], gpu["status"]) == (VERSION, "RUNNING")

    # What GKE refuses: an accelerator count the machine type does not come with.
    refused = gcloud.refused(
        "container", "node-pools", "create", "badpool",
        "--accelerator", "type=nvidia-h100-80gb,count=1",
        f"--location={REGION}", "--cluster=gemma-std", "--machine-type=a3-highgpu-2g",
    )  # fmt: skip
    assert "does not match machine type a3-highgpu-2g" in refused

    _kubectl_through_gcloud_kubeconfig(gcloud)

    gcloud.run(
        "container", "node-pools", "delete", "gpupool", "--cluster=gemma-std",
        f"--location={REGION}", "--quiet",
    )  # fmt: skip
    pools = gcloud.json(
        "container", "node-pools", "list", "--cluster=gemma-std", f"--location={REGION}"
    )
    assert [p["name"] for p in pools] == ["default-pool"]


def _kubectl_through_gcloud_kubeconfig(gcloud: Gcloud) -> None:
    """get-credentials writes a kubeconfig whose user is gke-gcloud-auth-plugin, which asks
    this gcloud for the token: kubectl then lists the pools' nodes."""
    kubectl = shutil.which("kubectl")
    if kubectl is None or shutil.which("gke-gcloud-auth-plugin") is None:
        pytest.skip("kubectl or gke-gcloud-auth-plugin is not installed")
    gcloud.run("container", "clusters", "get-credentials", "gemma-std", f"--location={REGION}")
    done = subprocess.run(
        [kubectl, "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        env=gcloud.env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    nodes = sorted(done.stdout.split())
    assert nodes == [
        "node/gke-gemma-std-default-pool-a0",
        "node/gke-gemma-std-default-pool-b0",
        "node/gke-gemma-std-default-pool-c0",
        "node/gke-gemma-std-gpupool-a0",
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        # Autopilot clusters are regional
        # (https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-overview).
        (
            ("create-auto", "zonal-ap", f"--location={REGION}-a"),
            "Autopilot clusters must be regional clusters",
        ),
        # The Gateway API needs a VPC-native cluster: routes-based is refused
        # (https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways).
        (
            (
                "create", "routes", f"--location={REGION}", "--num-nodes=1",
                "--no-enable-ip-alias", "--gateway-api=standard",
            ),
            "VPC-native clusters only",
        ),
    ],
)  # fmt: skip
def test_refused_as_gke_refuses(gcloud: Gcloud, args, reason):
    assert reason in gcloud.refused("container", "clusters", *args)
