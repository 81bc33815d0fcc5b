"""The sandbox's container_v1 through the official client: clusters, operations, faults."""

import base64
import re
import time

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1

from sandbox.gke.standard import instance_group

PARENT = "projects/hangar-sandbox/locations/us-central1"


@pytest.fixture(scope="session")
def gke(sandbox_process, credentials):
    return container_v1.ClusterManagerClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials,
    )


def autopilot(name: str = "llm-ap", **extra) -> container_v1.Cluster:
    return container_v1.Cluster(
        name=name,
        autopilot=container_v1.Autopilot(enabled=True),
        release_channel=container_v1.ReleaseChannel(
            channel=container_v1.ReleaseChannel.Channel.RAPID
        ),
        **extra,
    )


def wait_done(gke, parent: str, op, timeout: float = 20) -> container_v1.Operation:
    name = f"{parent}/operations/{op.name}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = gke.get_operation(name=name)
        if op.status == container_v1.Operation.Status.DONE:
            return op
        time.sleep(0.1)
    raise AssertionError(f"{name} is still {op.status}")


def test_create_then_running_with_endpoint_and_ca(sandbox, gke):
    op = gke.create_cluster(parent=PARENT, cluster=autopilot())
    assert op.name.startswith("operation-")
    assert op.operation_type == container_v1.Operation.Type.CREATE_CLUSTER
    provisioning = gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert provisioning.status == container_v1.Cluster.Status.PROVISIONING
    assert provisioning.endpoint == ""

    done = wait_done(gke, PARENT, op)
    assert not done.error.code
    cluster = gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.endpoint.startswith("127.0.0.1:")
    pem = base64.b64decode(cluster.master_auth.cluster_ca_certificate)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert cluster.workload_identity_config.workload_pool == "hangar-sandbox.svc.id.goog"
    assert cluster.release_channel.channel == container_v1.ReleaseChannel.Channel.RAPID


def test_autopilot_default_channel_is_regular(sandbox, gke):
    gke.create_cluster(
        parent=PARENT,
        cluster=container_v1.Cluster(name="plain", autopilot=container_v1.Autopilot(enabled=True)),
    )
    got = gke.get_cluster(name=f"{PARENT}/clusters/plain")
    assert got.release_channel.channel == container_v1.ReleaseChannel.Channel.REGULAR


@pytest.mark.parametrize(
    ("parent", "cluster", "expected"),
    [
        (PARENT, autopilot("Bad_Name"), 'Invalid value for field "cluster.name"'),
        (PARENT, autopilot("a" * 41), 'Invalid value for field "cluster.name"'),
        (PARENT, autopilot("ends-"), 'Invalid value for field "cluster.name"'),
        (
            "projects/hangar-sandbox/locations/us-central1-a",
            autopilot(),
            "Autopilot clusters must be regional clusters.",
        ),
        (PARENT, autopilot(initial_node_count=3), "cannot be set on an Autopilot cluster"),
        (
            PARENT,
            autopilot(
                node_pools=[
                    container_v1.NodePool(
                        name="default-pool",
                        initial_node_count=1,
                        config=container_v1.NodeConfig(machine_type="e2-standard-4"),
                    )
                ]
            ),
            "Autopilot clusters do not recognize node pool settings",
        ),
        (PARENT, autopilot(initial_node_count=1), "cannot be set on an Autopilot cluster"),
        (PARENT, container_v1.Cluster(name="std"), "initial_node_count must be greater"),
        ("projects/hangar-sandbox/locations/mars-north1", autopilot(), "not a valid location"),
        (
            PARENT,
            autopilot(
                ip_allocation_policy=container_v1.IPAllocationPolicy(
                    use_ip_aliases=True, use_routes=True
                )
            ),
            "use_ip_aliases cannot be true if use_routes is true",
        ),
        (
            PARENT,
            autopilot(
                cluster_ipv4_cidr="10.0.0.0/14",
                ip_allocation_policy=container_v1.IPAllocationPolicy(
                    cluster_ipv4_cidr_block="10.4.0.0/14"
                ),
            ),
            "cluster.cluster_ipv4_cidr must be left blank",
        ),
    ],
)
def test_refused_like_gke(sandbox, gke, parent, cluster, expected):
    with pytest.raises(exceptions.BadRequest) as info:
        gke.create_cluster(parent=parent, cluster=cluster)
    assert expected in info.value.message
    if parent == PARENT:  # a refused request holds nothing
        with pytest.raises(exceptions.NotFound):
            gke.get_cluster(name=f"{PARENT}/clusters/{cluster.name}")


def test_unknown_field_rejected(sandbox, credentials, sandbox_process):
    from google.auth.transport.requests import AuthorizedSession

    session = AuthorizedSession(credentials)
    response = session.post(
        f"{sandbox_process.url}/v1/{PARENT}/clusters",
        json={"cluster": {"name": "x", "autopilot": {"enabled": True}, "gpuMagic": True}},
    )
    assert response.status_code == 400
    assert 'Unknown name "gpuMagic"' in response.json()["error"]["message"]


def test_already_exists_and_one_operation_at_a_time(sandbox, gke):
    sandbox.config(operation_delay=30)
    gke.create_cluster(parent=PARENT, cluster=autopilot())
    with pytest.raises(exceptions.Conflict) as exists:
        gke.create_cluster(parent=PARENT, cluster=autopilot())
    assert exists.value.message.endswith(f"Already exists: {PARENT}/clusters/llm-ap.")
    # FAILED_PRECONDITION is HTTP 400 over REST, so the client raises BadRequest.
    with pytest.raises(exceptions.BadRequest) as busy:
        gke.delete_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert busy.value.response.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert "Please wait and try again once it is done." in busy.value.message


def test_delete_takes_time_then_not_found(sandbox, gke):
    wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=autopilot()))
    op = gke.delete_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert op.operation_type == container_v1.Operation.Type.DELETE_CLUSTER
    stopping = gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert stopping.status == container_v1.Cluster.Status.STOPPING
    wait_done(gke, PARENT, op)
    with pytest.raises(exceptions.NotFound) as info:
        gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert info.value.message.endswith(f"Not found: {PARENT}/clusters/llm-ap.")


def test_operation_fault_fails_the_create(sandbox, gke):
    sandbox.add_fault(kind="operation_error", code=8, message="Insufficient regional quota")
    op = wait_done(gke, PARENT, gke.create_cluster(parent=PARENT, cluster=autopilot()))
    assert op.error.code == 8
    assert op.error.message == "Insufficient regional quota"
    cluster = gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    assert cluster.status == container_v1.Cluster.Status.ERROR


def test_error_fault_per_call(sandbox, gke):
    sandbox.add_fault(method="GET", path="/clusters/llm-ap$", status=503, times=1)
    with pytest.raises(exceptions.ServiceUnavailable):  # no retry: the fault is seen once
        gke.get_cluster(name=f"{PARENT}/clusters/llm-ap", retry=None)
    with pytest.raises(exceptions.NotFound):
        gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")


def test_other_apis_operations_still_route(sandbox, registry_client):
    from tests.sandbox import helpers

    helpers.create_repository(registry_client)  # polls a v1 google.longrunning operation


def test_the_ranges_reported_are_the_ones_asked_for(sandbox, gke):
    # A range by netmask only is one GKE picks of that size; the cluster's own (deprecated)
    # fields report the policy's ranges.
    policy = container_v1.IPAllocationPolicy(
        cluster_ipv4_cidr_block="/17", services_ipv4_cidr_block="10.8.0.0/20"
    )
    gke.create_cluster(parent=PARENT, cluster=autopilot(ip_allocation_policy=policy))
    cluster = gke.get_cluster(name=f"{PARENT}/clusters/llm-ap")
    reported = cluster.ip_allocation_policy
    assert reported.cluster_ipv4_cidr_block == cluster.cluster_ipv4_cidr
    assert cluster.cluster_ipv4_cidr.endswith("/17")
    assert reported.services_ipv4_cidr_block == cluster.services_ipv4_cidr == "10.8.0.0/20"


def test_instance_groups_are_distinct_and_fit_compute_engine_names():
    long_pool = "p" * 40  # the longest pool name GKE takes
    names = {
        instance_group(f"{PARENT}/clusters/{cluster}", pool)
        for cluster in ("inference-gateway-team-a", "inference-gateway-team-b")
        for pool in ("gpupool", long_pool)
    }
    assert len(names) == 4  # a shared 20-character prefix shares no group
    assert all(re.fullmatch(r"gke-[a-z0-9-]+-[0-9a-f]{8}-grp", n) and len(n) <= 63 for n in names)
