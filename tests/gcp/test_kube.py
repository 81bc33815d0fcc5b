"""gcp/kube.py against a sandbox cluster's API server: TLS with the cluster's CA,
Google access tokens, server-side apply under Hangar's field manager, reads, deletes."""

import time

import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1

from gcp import kube
from gcp.clients import credentials

PARENT = "projects/hangar-sandbox/locations/us-central1"


def wait(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def conn(sandbox, sandbox_process) -> kube.ClusterConn:
    gke = container_v1.ClusterManagerClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials(),
    )
    gke.create_cluster(
        parent=PARENT,
        cluster=container_v1.Cluster(name="kube", autopilot=container_v1.Autopilot(enabled=True)),
    )
    name = f"{PARENT}/clusters/kube"
    cluster = wait(
        lambda: (c := gke.get_cluster(name=name)).endpoint and c, what="the cluster to run"
    )
    return kube.ClusterConn(cluster.endpoint, cluster.master_auth.cluster_ca_certificate)


def namespace(name: str = "team-ml") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"managed-by": "hangar"}},
    }


def ksa(**annotations) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "gemma",
            "namespace": "team-ml",
            "labels": {"managed-by": "hangar"},
            "annotations": annotations,
        },
    }


def test_apply_read_and_reapply(conn):
    created = kube.apply(conn, namespace())
    assert created["metadata"]["managedFields"][0]["manager"] == kube.FIELD_MANAGER
    assert created["status"]["phase"] == "Active"
    gsa = "llm-gemma@hangar-sandbox.iam.gserviceaccount.com"
    kube.apply(conn, ksa(**{"iam.gke.io/gcp-service-account": gsa}))
    read = kube.read(conn, "v1", "ServiceAccount", "gemma", "team-ml")
    assert read["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": gsa}
    # The same apply again changes nothing Hangar did not ask for; a field it drops goes.
    kube.apply(conn, ksa())
    assert kube.read(conn, "v1", "ServiceAccount", "gemma", "team-ml")["metadata"].get(
        "annotations"
    ) in ({}, None)
    # The namespace came with its default service account, as Kubernetes makes one.
    assert kube.read(conn, "v1", "ServiceAccount", "default", "team-ml") is not None
    assert kube.read(conn, "v1", "ServiceAccount", "nobody", "team-ml") is None


def test_resource_quota_holds_the_team_gpus(conn):
    kube.apply(conn, namespace())
    quota = kube.apply(
        conn,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "gpus", "namespace": "team-ml"},
            "spec": {"hard": {"requests.nvidia.com/gpu": "8"}},
        },
    )
    assert quota["status"]["hard"] == {"requests.nvidia.com/gpu": "8"}


def test_unknown_fields_and_bad_values_are_refused(conn):
    kube.apply(conn, namespace())
    bad = ksa()
    bad["automountToken"] = True
    with pytest.raises(gexc.BadRequest) as undeclared:
        kube.apply(conn, bad)
    assert ".automountToken: field not declared in schema" in undeclared.value.message
    with pytest.raises(gexc.BadRequest):
        kube.apply(conn, {**ksa(), "automountServiceAccountToken": "yes"})
    with pytest.raises(gexc.GoogleAPICallError) as quota:  # 422: api_core has no class for it
        kube.apply(
            conn,
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "gpus", "namespace": "team-ml"},
                "spec": {"hard": {"requests.nvidia.com/gpu": "eight"}},
            },
        )
    assert quota.value.code == 422
    assert "quantities must match" in quota.value.message
    assert kube.read(conn, "v1", "ResourceQuota", "gpus", "team-ml") is None


def test_a_namespace_that_is_not_there(conn):
    with pytest.raises(gexc.NotFound) as info:
        kube.apply(conn, ksa())
    assert 'namespaces "team-ml" not found' in info.value.message


def test_deleting_a_namespace_takes_time_and_takes_its_content(sandbox, conn):
    sandbox.config(operation_delay=1.0)
    kube.apply(conn, namespace())
    kube.apply(conn, ksa())
    assert kube.delete(conn, "v1", "Namespace", "team-ml") is True
    terminating = kube.read(conn, "v1", "Namespace", "team-ml")
    assert terminating["status"]["phase"] == "Terminating"
    assert terminating["metadata"]["deletionTimestamp"]
    with pytest.raises(gexc.Forbidden):
        kube.apply(conn, {**ksa(), "metadata": {**ksa()["metadata"], "name": "late"}})
    wait(lambda: kube.read(conn, "v1", "Namespace", "team-ml") is None, what="the namespace")
    assert kube.read(conn, "v1", "ServiceAccount", "gemma", "team-ml") is None
    assert kube.delete(conn, "v1", "Namespace", "team-ml") is False


def test_the_api_server_wants_apply_with_a_field_manager_and_a_token(conn, tmp_path):
    url = f"https://{conn.endpoint}/api/v1/namespaces/x"
    ca_file = tmp_path / "ca.pem"  # requests wants a file
    ca_file.write_text(kube.configuration(conn).ca_cert_data)
    creds = credentials()
    token = {"Authorization": f"Bearer {creds.token}"}
    body = '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}'
    apply = {**token, "Content-Type": "application/apply-patch+yaml"}
    no_manager = requests.patch(url, data=body, headers=apply, verify=str(ca_file), timeout=10)
    assert no_manager.status_code == 422
    assert "fieldManager: Required value" in no_manager.json()["message"]
    # A patch type Kubernetes does not know is refused: 415, as for any PATCH body
    # that is not apply, strategic-merge, merge or JSON patch.
    not_a_patch = {**token, "Content-Type": "text/plain"}
    wrong_type = requests.patch(
        url + "?fieldManager=me", data=body, headers=not_a_patch, verify=str(ca_file), timeout=10
    )
    assert wrong_type.status_code == 415
    assert requests.get(url, verify=str(ca_file), timeout=10).status_code == 401


def test_tls_is_verified_against_the_cluster_ca(sandbox, conn, sandbox_process):
    other = kube.ClusterConn(conn.endpoint, _other_ca())
    with pytest.raises(ConnectionError):
        kube.read(other, "v1", "Namespace", "default")


def _other_ca() -> str:
    from sandbox.kube.tls import make_cluster_tls

    return make_cluster_tls("somebody-else").ca_base64


# -- the executors, as the runner calls them ------------------------------------------


def _claim(step, operation=""):
    from tests.step_claims import step_claim

    return step_claim(step, operation)


@pytest.mark.django_db
def test_apply_and_delete_steps_wait_for_finalizers(sandbox, conn):
    from clusters.models import Cluster
    from deployments.targets.kube_steps import apply_step, delete_step
    from runbook.executors import EXECUTORS
    from runbook.results import Succeeded, Waiting

    cluster = Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="kube",
        status="ready",
        endpoint=conn.endpoint,
        ca_certificate=conn.ca_certificate,
    )
    sandbox.config(operation_delay=1.0)
    ns = namespace()
    applied = EXECUTORS["kube.apply"](
        _claim(apply_step(key="ns", title="t", cluster=cluster.pk, manifest=ns))
    )
    assert isinstance(applied, Succeeded) and "generation 1" in applied.message
    again = EXECUTORS["kube.apply"](
        _claim(apply_step(key="ns", title="t", cluster=cluster.pk, manifest=ns))
    )
    assert isinstance(again, Succeeded)

    delete = delete_step(key="del", title="t", cluster=cluster.pk, manifest=ns)
    assert delete.request.path == "/api/v1/namespaces/team-ml"
    first = EXECUTORS["kube.delete"](_claim(delete))
    assert isinstance(first, Waiting)
    polled = EXECUTORS["kube.delete"](_claim(delete, first.operation))
    assert isinstance(polled, Waiting)  # the namespace's finalizer has not run yet
    gone = wait(
        lambda: (
            isinstance(r := EXECUTORS["kube.delete"](_claim(delete, first.operation)), Succeeded)
            and r
        ),
        what="the namespace to go",
    )
    assert "is gone" in gone.message
    assert isinstance(EXECUTORS["kube.delete"](_claim(delete)), Succeeded)  # already gone


def seed_compute_class(**rule) -> dict:
    """Seed 003's ComputeClass, as the guide writes it."""
    return {
        "apiVersion": "cloud.google.com/v1",
        "kind": "ComputeClass",
        "metadata": {"name": "a3-edgegpu-8g-nolssd"},
        "spec": {
            "priorities": [
                {
                    "machineType": "a3-edgegpu-8g-nolssd",
                    "gpu": {"count": 8, "type": "nvidia-h100-80gb"},
                    **rule,
                }
            ],
            "nodePoolAutoCreation": {"enabled": True},
        },
    }


def test_compute_class_checked_as_gke_documents_it(conn):
    applied = kube.apply(conn, seed_compute_class())
    assert applied["spec"]["priorities"][0]["gpu"]["count"] == 8
    with pytest.raises(gexc.BadRequest) as unknown:
        kube.apply(conn, seed_compute_class(gpus=8))
    assert "field not declared in schema" in unknown.value.message
    with pytest.raises(gexc.GoogleAPICallError) as mismatch:
        kube.apply(conn, seed_compute_class(gpu={"count": 1, "type": "nvidia-h100-80gb"}))
    assert mismatch.value.code == 422
    assert "has 8 nvidia-h100-80gb GPUs, not 1" in mismatch.value.message


def test_the_corrected_seed_manifests_apply_cleanly(conn):
    from tests.deployments.targets.test_gke_vllm_manifests import all_objects

    for obj in all_objects():
        applied = kube.apply(conn, obj)
        assert applied["metadata"]["managedFields"][0]["manager"] == "hangar"
    deployment = kube.read(conn, "apps/v1", "Deployment", "gemma-26b", "hangar-ml-research")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "gemma-26b"
