"""The sandbox cluster's Gateway API and Inference Extension, through workers/gcp/kube.py:
kinds that exist only once their CRDs do, objects checked against those CRDs, GKE's
Gateway status (Programmed only with a proxy-only subnet), HTTPRoute conditions, and the
pod rules for native sidecars."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1

from gcp import kube
from gcp.clients import credentials
from tests.gcp.test_kube import wait

PARENT = "projects/hangar-sandbox/locations/us-central1"
GIE_CRDS = Path(__file__).parents[3] / "deployments/targets/gke_inference_gateway/crds"
NS = "team-ml"


def _cluster(sandbox_process, name: str, cluster: container_v1.Cluster) -> kube.ClusterConn:
    gke = container_v1.ClusterManagerClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials(),
    )
    gke.create_cluster(parent=PARENT, cluster=cluster)
    full = f"{PARENT}/clusters/{name}"
    found = wait(lambda: (c := gke.get_cluster(name=full)).endpoint and c, what="the cluster")
    return kube.ClusterConn(found.endpoint, found.master_auth.cluster_ca_certificate)


@pytest.fixture
def conn(sandbox, sandbox_process) -> kube.ClusterConn:
    """A Standard cluster as seed 004 makes it: the Gateway API's standard channel on."""
    cluster = container_v1.Cluster(
        name="gw",
        initial_node_count=1,
        network_config=container_v1.NetworkConfig(
            gateway_api_config=container_v1.GatewayAPIConfig(
                channel=container_v1.GatewayAPIConfig.Channel.CHANNEL_STANDARD
            )
        ),
        ip_allocation_policy=container_v1.IPAllocationPolicy(use_ip_aliases=True),
    )
    conn = _cluster(sandbox_process, "gw", cluster)
    kube.apply(conn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return conn


def gie_crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(GIE_CRDS.glob("*.yaml"))]


def install_gie(conn: kube.ClusterConn) -> None:
    for crd in gie_crds():
        applied = kube.apply(conn, crd)
        conditions = {c["type"]: c["status"] for c in applied["status"]["conditions"]}
        assert conditions["Established"] == "True"


def pool(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "inference.networking.k8s.io/v1",
        "kind": "InferencePool",
        "metadata": {"name": "llama", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "llama"}},
            "targetPorts": [{"number": 8000}],
            "endpointPickerRef": {"name": "llama-epp", "port": {"number": 9002}},
            **spec,
        },
    }


def objective(api_version: str = "inference.networking.x-k8s.io/v1alpha2") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "InferenceObjective",
        "metadata": {"name": "food-review", "namespace": NS},
        "spec": {"priority": 10, "poolRef": {"name": "llama", "kind": "InferencePool"}},
    }


def gateway(cls: str = "gke-l7-rilb") -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "inference", "namespace": NS},
        "spec": {
            "gatewayClassName": cls,
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }


def route(path: str = "/") -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "llama", "namespace": NS},
        "spec": {
            "parentRefs": [{"name": "inference"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [
                        {
                            "group": "inference.networking.k8s.io",
                            "kind": "InferencePool",
                            "name": "llama",
                        }
                    ],
                }
            ],
        },
    }


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """An object's (or a route parent's) conditions: type -> (status, reason)."""
    found = obj["status"]["conditions"] if "status" in obj else obj["conditions"]
    return {c["type"]: (c["status"], c["reason"]) for c in found}


def raw_get(conn: kube.ClusterConn, path: str, tmp_path) -> requests.Response:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(kube.configuration(conn).ca_cert_data)
    token = {"Authorization": f"Bearer {credentials().token}"}
    return requests.get(
        f"https://{conn.endpoint}{path}", headers=token, verify=str(ca_file), timeout=10
    )


# -- kinds exist with their CRDs ---------------------------------------------------------


def test_without_the_gateway_api_there_is_no_gateway_kind(sandbox, sandbox_process, tmp_path):
    plain = _cluster(
        sandbox_process, "plain", container_v1.Cluster(name="plain", initial_node_count=1)
    )
    groups = raw_get(plain, "/apis", tmp_path).json()["groups"]
    assert "gateway.networking.k8s.io" not in {g["name"] for g in groups}
    with pytest.raises(gexc.NotFound) as info:
        kube.apply(plain, gateway())
    assert 'no matches for kind "Gateway"' in info.value.message


def test_gke_installs_the_gateway_api_and_its_classes(conn, tmp_path):
    groups = {g["name"]: g for g in raw_get(conn, "/apis", tmp_path).json()["groups"]}
    assert groups["gateway.networking.k8s.io"]["preferredVersion"]["version"] == "v1"
    rilb = kube.read(conn, "gateway.networking.k8s.io/v1", "GatewayClass", "gke-l7-rilb")
    assert rilb["spec"]["controllerName"] == "networking.gke.io/gateway"
    assert kube.read(conn, "networking.gke.io/v1", "HealthCheckPolicy", "x", NS) is None


def test_inference_kinds_exist_once_their_crds_are_applied(conn, tmp_path):
    with pytest.raises(gexc.NotFound):
        kube.apply(conn, pool())
    install_gie(conn)
    applied = kube.apply(conn, pool())
    # The CRD's defaults, filled in by the API server.
    assert applied["spec"]["endpointPickerRef"] == {
        "name": "llama-epp",
        "port": {"number": 9002},
        "group": "",
        "kind": "Service",
        "failureMode": "FailClose",
    }
    created = kube.apply(conn, objective())
    assert created["spec"]["poolRef"]["group"] == "inference.networking.k8s.io"


def test_seed_004s_v1alpha1_objective_is_refused_as_a_real_cluster_refuses_it(conn, tmp_path):
    install_gie(conn)
    with pytest.raises(gexc.NotFound) as info:
        kube.apply(conn, objective("inference.networking.k8s.io/v1alpha1"))
    assert "no matches for kind" in info.value.message
    # What the API server itself answers for a group/version it does not serve.
    missing = raw_get(conn, "/apis/inference.networking.k8s.io/v1alpha1", tmp_path)
    assert missing.status_code == 404
    path = f"/apis/inference.networking.k8s.io/v1alpha1/namespaces/{NS}/inferenceobjectives"
    listed = raw_get(conn, path, tmp_path)
    assert listed.status_code == 404
    assert listed.json()["message"] == "the server could not find the requested resource"


@pytest.mark.parametrize(
    ("change", "code", "expected"),
    [
        (
            {"targetPorts": [{"number": 8000}, {"number": 8001}]},
            422,
            "spec.targetPorts: Too many: 2: must have at most 1 items",
        ),
        ({"targetPorts": [{"number": 70000}]}, 422, "should be less than or equal to 65535"),
        (
            {"endpointPickerRef": {"name": "llama-epp"}},
            422,
            "port is required when kind is 'Service'",
        ),
        (
            {"endpointPickerRef": {"name": "e", "port": {"number": 9002}, "failureMode": "Maybe"}},
            422,
            'Unsupported value: "Maybe"',
        ),
        ({"selector": {"app": "llama"}}, 400, ".spec.selector.app: field not declared in schema"),
        ({"targetPorts": None}, 422, "spec.targetPorts: Invalid value"),
    ],
)
def test_inference_pool_checked_against_its_crd(conn, change, code, expected):
    install_gie(conn)
    with pytest.raises(gexc.GoogleAPICallError) as info:
        kube.apply(conn, pool(**change))
    assert info.value.code == code
    assert expected in info.value.message
    assert kube.read(conn, "inference.networking.k8s.io/v1", "InferencePool", "llama", NS) is None


def test_gateway_and_route_checked_against_their_crds(conn):
    bad = gateway()
    bad["spec"]["listeners"].append({"name": "http", "port": 8080, "protocol": "HTTP"})
    with pytest.raises(gexc.GoogleAPICallError) as dup:
        kube.apply(conn, bad)
    assert dup.value.code == 422
    with pytest.raises(gexc.GoogleAPICallError) as relative:
        kube.apply(conn, route(path="v1"))
    assert "value must be an absolute path and start with '/'" in relative.value.message


def test_deleting_a_crd_takes_its_objects_and_kind(sandbox, conn):
    install_gie(conn)
    kube.apply(conn, pool())
    crd = gie_crds()[0]
    assert kube.delete(conn, "apiextensions.k8s.io/v1", crd["kind"], crd["metadata"]["name"])
    wait(
        lambda: (
            kube.read(conn, "apiextensions.k8s.io/v1", crd["kind"], crd["metadata"]["name"]) is None
        ),
        what="the CRD to go",
    )
    with pytest.raises(gexc.NotFound):
        kube.apply(conn, pool())


# -- GKE's Gateway status ----------------------------------------------------------------


def _read_gateway(conn):
    return kube.read(conn, "gateway.networking.k8s.io/v1", "Gateway", "inference", NS)


def test_a_regional_gateway_is_never_programmed_without_a_proxy_only_subnet(sandbox, conn):
    sandbox.config(operation_delay=0.3)
    kube.apply(conn, gateway())
    external = {**gateway("gke-l7-global-external-managed")}
    external["metadata"] = {**external["metadata"], "name": "outside"}
    kube.apply(conn, external)
    # Once a Gateway that needs no subnet is programmed, the regional one, applied
    # first, is still not, and it says why.
    wait(
        lambda: (
            conditions(kube.read(conn, "gateway.networking.k8s.io/v1", "Gateway", "outside", NS))[
                "Programmed"
            ][0]
            == "True"
        ),
        what="the external Gateway",
    )
    status = _read_gateway(conn)
    assert conditions(status)["Accepted"] == ("True", "Accepted")
    assert conditions(status)["Programmed"] == ("False", "Invalid")
    assert "proxy-only subnetwork is required" in str(status["status"]["conditions"])
    assert "addresses" not in status["status"]
    events = kube.list_objects(
        conn, "v1", "Event", NS, field_selector="involvedObject.name=inference"
    )
    assert any("proxy-only subnetwork" in e["message"] for e in events)

    sandbox.iam(proxy_only_subnets=["us-central1"])
    programmed = wait(
        lambda: (g := _read_gateway(conn)) and conditions(g)["Programmed"][0] == "True" and g,
        what="Programmed",
    )
    address = programmed["status"]["addresses"][0]
    assert address["type"] == "IPAddress" and address["value"].startswith("10.")


def test_an_external_gateway_needs_no_subnet_and_takes_the_delay(sandbox, conn):
    sandbox.config(operation_delay=1.0)
    kube.apply(conn, gateway("gke-l7-global-external-managed"))
    assert conditions(_read_gateway(conn))["Programmed"] == ("False", "Pending")
    wait(lambda: conditions(_read_gateway(conn))["Programmed"][0] == "True", what="Programmed")


def test_route_conditions_follow_its_gateway_and_backends(sandbox, conn):
    sandbox.iam(proxy_only_subnets=["us-central1"])
    install_gie(conn)
    kube.apply(conn, route())
    read = kube.read(conn, "gateway.networking.k8s.io/v1", "HTTPRoute", "llama", NS)
    assert conditions(read["status"]["parents"][0]) == {
        "Accepted": ("False", "NoMatchingParent"),
        "ResolvedRefs": ("False", "BackendNotFound"),
    }
    kube.apply(conn, gateway())
    kube.apply(conn, pool())
    read = kube.read(conn, "gateway.networking.k8s.io/v1", "HTTPRoute", "llama", NS)
    parent = read["status"]["parents"][0]
    assert parent["controllerName"] == "networking.gke.io/gateway"
    assert conditions(parent) == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs"),
    }
    served = kube.read(conn, "inference.networking.k8s.io/v1", "InferencePool", "llama", NS)
    assert served["status"]["parents"][0]["parentRef"]["name"] == "inference"
    listener = _read_gateway(conn)["status"]["listeners"][0]
    assert listener["attachedRoutes"] == 1


def test_deleting_a_gateway_waits_for_its_load_balancer(sandbox, conn):
    kube.apply(conn, gateway())
    sandbox.config(operation_delay=1.0)
    assert kube.delete(conn, "gateway.networking.k8s.io/v1", "Gateway", "inference", NS)
    going = _read_gateway(conn)
    assert "gateway.finalizer.networking.gke.io" in going["metadata"]["finalizers"]
    wait(lambda: _read_gateway(conn) is None, what="the Gateway to go")


# -- native sidecars ---------------------------------------------------------------------


def deployment(init: list[dict[str, Any]], containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "llama", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "llama"}},
            "template": {
                "metadata": {"labels": {"app": "llama"}},
                "spec": {
                    "initContainers": init,
                    "containers": containers,
                    "volumes": [{"name": "config", "configMap": {"name": "adapters"}}],
                },
            },
        },
    }


VLLM = {"name": "vllm", "image": "vllm/vllm-openai:v0.10.2"}
SYNCER = {
    "name": "lora-adapter-syncer",
    "image": "registry.k8s.io/gateway-api-inference-extension/lora-syncer:v1.0.0",
    "volumeMounts": [{"name": "config", "mountPath": "/config"}],
}


def _refused(conn, obj) -> str:
    with pytest.raises(gexc.GoogleAPICallError) as info:
        kube.apply(conn, obj)
    assert info.value.code == 422
    return info.value.message


def test_seed_004s_syncer_with_restart_policy_as_a_regular_container_is_refused(conn):
    seed = deployment([], [VLLM, {**SYNCER, "restartPolicy": "Always"}])
    message = _refused(conn, seed)
    assert (
        "spec.template.spec.containers[1].restartPolicy: Forbidden: may not be set for "
        "non-init containers" in message
    )


def test_a_native_sidecar_is_an_init_container_that_restarts_always(conn):
    applied = kube.apply(conn, deployment([{**SYNCER, "restartPolicy": "Always"}], [VLLM]))
    assert applied["spec"]["template"]["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    # Only Always: upstream's v1.1-v1.3 samples wrote IfNotPresent there.
    message = _refused(conn, deployment([{**SYNCER, "restartPolicy": "IfNotPresent"}], [VLLM]))
    assert 'initContainers[0].restartPolicy: Unsupported value: "IfNotPresent"' in message
    probe = {"httpGet": {"path": "/", "port": 8080}}
    message = _refused(conn, deployment([{**SYNCER, "startupProbe": probe}], [VLLM]))
    assert "may not be set for init containers without restartPolicy=Always" in message
    unmounted = copy.deepcopy(SYNCER)
    unmounted["volumeMounts"][0]["name"] = "adapters"
    message = _refused(conn, deployment([{**unmounted, "restartPolicy": "Always"}], [VLLM]))
    assert 'volumeMounts[0].name: Not found: "adapters"' in message
