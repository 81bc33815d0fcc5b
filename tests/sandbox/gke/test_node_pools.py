"""The sandbox's container_v1 for GKE Standard: seed 004's cluster options checked as GKE
checks them, the default pool, and GPU node pools with their operations, one operation
per cluster at a time."""

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1 as c

from tests.sandbox.gke.test_clusters import PARENT, wait_done

CLUSTER = f"{PARENT}/clusters/llm-std"
Component = c.MonitoringComponentConfig.Component


@pytest.fixture(scope="session")
def gke(sandbox_process, credentials):
    return c.ClusterManagerClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials,
    )


def seed_cluster(**changes) -> c.Cluster:
    """`gcloud container clusters create` as seed 004 runs it."""
    values = dict(
        name="llm-std",
        initial_node_count=1,
        workload_identity_config=c.WorkloadIdentityConfig(
            workload_pool="hangar-sandbox.svc.id.goog"
        ),
        release_channel=c.ReleaseChannel(channel=c.ReleaseChannel.Channel.RAPID),
        monitoring_config=c.MonitoringConfig(
            component_config=c.MonitoringComponentConfig(
                enable_components=[Component.SYSTEM_COMPONENTS, Component.DCGM]
            ),
            managed_prometheus_config=c.ManagedPrometheusConfig(enabled=True),
        ),
        network_config=c.NetworkConfig(
            gateway_api_config=c.GatewayAPIConfig(
                channel=c.GatewayAPIConfig.Channel.CHANNEL_STANDARD
            )
        ),
        ip_allocation_policy=c.IPAllocationPolicy(use_ip_aliases=True),
        addons_config=c.AddonsConfig(http_load_balancing=c.HttpLoadBalancing(disabled=False)),
    )
    values.update(changes)
    return c.Cluster(**values)


def gpu_pool(**config) -> c.NodePool:
    """`gcloud container node-pools create gpupool` as seed 004 runs it (Spot here)."""
    base = dict(
        machine_type="a3-highgpu-2g",
        spot=True,
        accelerators=[
            c.AcceleratorConfig(
                accelerator_type="nvidia-h100-80gb",
                accelerator_count=2,
                gpu_driver_installation_config=c.GPUDriverInstallationConfig(
                    gpu_driver_version=c.GPUDriverInstallationConfig.GPUDriverVersion.LATEST
                ),
            )
        ],
        workload_metadata_config=c.WorkloadMetadataConfig(
            mode=c.WorkloadMetadataConfig.Mode.GKE_METADATA
        ),
    )
    base.update(config)
    return c.NodePool(
        name="gpupool",
        initial_node_count=1,
        locations=["us-central1-a"],
        config=c.NodeConfig(**base),
    )


def test_seed_cluster_gets_its_default_pool_in_three_zones(sandbox, gke):
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=seed_cluster()))
    cluster = gke.get_cluster(name=CLUSTER)
    assert cluster.status == c.Cluster.Status.RUNNING
    assert not cluster.autopilot.enabled
    (default,) = cluster.node_pools
    assert default.name == "default-pool"
    assert default.initial_node_count == 1
    assert list(default.locations) == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert default.config.machine_type == "e2-medium"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {
                "workload_identity_config": c.WorkloadIdentityConfig(
                    workload_pool="other.svc.id.goog"
                )
            },
            'must be "hangar-sandbox.svc.id.goog"',
        ),
        (
            {"ip_allocation_policy": c.IPAllocationPolicy(use_routes=True)},
            "VPC-native clusters only",
        ),
        (
            {
                "addons_config": c.AddonsConfig(
                    http_load_balancing=c.HttpLoadBalancing(disabled=True)
                )
            },
            "HttpLoadBalancing",
        ),
        (
            {
                "monitoring_config": c.MonitoringConfig(
                    component_config=c.MonitoringComponentConfig(
                        enable_components=[Component.SYSTEM_COMPONENTS, Component.DCGM]
                    )
                )
            },
            "Managed Service for Prometheus",
        ),
        (
            {
                "monitoring_config": c.MonitoringConfig(
                    component_config=c.MonitoringComponentConfig(
                        enable_components=[Component.DCGM]
                    ),
                    managed_prometheus_config=c.ManagedPrometheusConfig(enabled=True),
                )
            },
            "SYSTEM_COMPONENTS must be enabled",
        ),
        ({"node_pools": [c.NodePool(name="p", initial_node_count=1)]}, "Cannot specify both"),
        ({"initial_node_count": 0}, "initial_node_count must be greater than zero"),
        ({"locations": ["europe-west1-b"]}, "zones of the cluster's region us-central1"),
    ],
)
def test_standard_options_refused_like_gke(sandbox, gke, changes, expected):
    with pytest.raises(exceptions.BadRequest) as info:
        gke.create_cluster(parent=PARENT, cluster=seed_cluster(**changes))
    assert expected in info.value.message
    with pytest.raises(exceptions.NotFound):
        gke.get_cluster(name=CLUSTER)


def _busy(exc: exceptions.GoogleAPICallError) -> bool:
    return exc.response.json()["error"]["status"] == "FAILED_PRECONDITION"


def test_a_node_pool_waits_for_the_cluster_operation(sandbox, gke):
    sandbox.config(operation_delay=1.0)
    created = gke.create_cluster(parent=PARENT, cluster=seed_cluster())
    # While GKE creates the cluster, a node pool is refused: one operation at a time.
    with pytest.raises(exceptions.BadRequest) as busy:
        gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool())
    assert _busy(busy.value)
    assert f"Operation {created.name} is currently operating" in busy.value.message
    wait_done(gke, PARENT, created)

    op = gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool())
    assert op.operation_type == c.Operation.Type.CREATE_NODE_POOL
    assert (
        gke.get_node_pool(name=f"{CLUSTER}/nodePools/gpupool").status
        == c.NodePool.Status.PROVISIONING
    )
    with pytest.raises(exceptions.BadRequest) as second:  # the cluster is busy with the pool
        gke.delete_cluster(name=CLUSTER)
    assert _busy(second.value)
    assert not wait_done(gke, PARENT, op).error.code
    pool = gke.get_node_pool(name=f"{CLUSTER}/nodePools/gpupool")
    assert pool.status == c.NodePool.Status.RUNNING
    assert pool.config.accelerators[0].accelerator_count == 2
    assert [p.name for p in gke.get_cluster(name=CLUSTER).node_pools] == ["default-pool", "gpupool"]
    with pytest.raises(exceptions.Conflict):
        gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool())

    deleting = gke.delete_node_pool(name=f"{CLUSTER}/nodePools/gpupool")
    assert deleting.operation_type == c.Operation.Type.DELETE_NODE_POOL
    assert (
        gke.get_node_pool(name=f"{CLUSTER}/nodePools/gpupool").status == c.NodePool.Status.STOPPING
    )
    wait_done(gke, PARENT, deleting)
    with pytest.raises(exceptions.NotFound):
        gke.get_node_pool(name=f"{CLUSTER}/nodePools/gpupool")


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        (
            gpu_pool(
                accelerators=[
                    c.AcceleratorConfig(accelerator_type="nvidia-h100-80gb", accelerator_count=1)
                ]
            ),
            "does not match machine type a3-highgpu-2g, which comes with 2 x nvidia-h100-80gb",
        ),
        (gpu_pool(flex_start=True), "cannot both be set"),
        (
            c.NodePool(name="Bad_Pool", initial_node_count=1),
            'Invalid value for field "node_pool.name"',
        ),
        (
            c.NodePool(name="gpupool", initial_node_count=1, locations=["us-east1-b"]),
            "zones of the cluster's region",
        ),
    ],
)
def test_node_pools_refused_like_gke(sandbox, gke, pool, expected):
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=seed_cluster()))
    with pytest.raises(exceptions.BadRequest) as info:
        gke.create_node_pool(parent=CLUSTER, node_pool=pool)
    assert expected in info.value.message
    assert len(gke.get_cluster(name=CLUSTER).node_pools) == 1  # nothing held


def test_gke_metadata_needs_workload_identity(sandbox, gke):
    plain = seed_cluster(workload_identity_config=c.WorkloadIdentityConfig())
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=plain))
    with pytest.raises(exceptions.BadRequest) as info:
        gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool())
    assert "GKE_METADATA needs Workload Identity" in info.value.message


def test_no_node_pools_on_autopilot(sandbox, gke):
    auto = c.Cluster(name="llm-std", autopilot=c.Autopilot(enabled=True))
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=auto))
    with pytest.raises(exceptions.BadRequest) as info:
        gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool())
    assert "Autopilot" in info.value.message


def test_gpu_pods_need_a_running_pool_that_has_the_gpus(sandbox, gke):
    from gcp import kube

    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=seed_cluster()))
    cluster = gke.get_cluster(name=CLUSTER)
    conn = kube.ClusterConn(cluster.endpoint, cluster.master_auth.cluster_ca_certificate)
    kube.apply(conn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
    pod = {
        "nodeSelector": {"cloud.google.com/gke-nodepool": "gpupool"},
        "containers": [
            {
                "name": "vllm",
                "image": "vllm/vllm-openai:v0.12.0",
                "resources": {"limits": {"nvidia.com/gpu": "1"}},
            }
        ],
    }

    def deploy(name: str) -> None:
        kube.apply(
            conn,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "ml"},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
                },
            },
        )

    deploy("early")  # before the pool: only the default pool's e2-medium nodes exist
    events = kube.list_objects(conn, "v1", "Event", "ml")
    assert any(
        e["reason"] == "FailedScheduling" and "0/3 nodes are available" in e["message"]
        for e in events
    )
    wait_done(gke, PARENT, gke.create_node_pool(parent=CLUSTER, node_pool=gpu_pool()))
    deploy("late")
    late = [
        e for e in kube.list_objects(conn, "v1", "Event", "ml") if e["reason"] == "FailedScheduling"
    ]
    assert all(e["involvedObject"]["name"].startswith("early-") for e in late)
