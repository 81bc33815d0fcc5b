"""The sandbox API server's OpenAPI documents, watch, and write verbs as raw HTTP: what
kubectl reads or sends, checked where kubectl's own output does not show it."""

from __future__ import annotations

import json
import threading

import pytest

from sandbox.kube import writes
from sandbox.kube.store import KubeError
from tests.sandbox.kube.kubectl import Kubectl, make_cluster

NS = "/api/v1/namespaces"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def cluster(sandbox, sandbox_process, tmp_path) -> Kubectl:
    return make_cluster(sandbox_process.url, tmp_path)


def _configmap(name: str = "c", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_openapi_v3_index_and_documents(cluster):
    index = cluster.api("GET", "/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/gateway.networking.k8s.io/v1"} <= set(index)
    apps = cluster.api("GET", index["apis/apps/v1"]["serverRelativeURL"])
    assert apps.status_code == 200 and "immutable" in apps.headers["Cache-Control"]
    doc = apps.json()
    schemas = doc["components"]["schemas"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    # A CRD's kind: its schema, and no strategic merge (kubectl then sends a merge patch).
    gateway = cluster.api("GET", index["apis/gateway.networking.k8s.io/v1"]["serverRelativeURL"])
    gw_doc = gateway.json()
    assert "io.k8s.networking.gateway.v1.Gateway" in gw_doc["components"]["schemas"]
    gw_patch = gw_doc["paths"][
        "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways/{name}"
    ]["patch"]
    assert "application/strategic-merge-patch+json" not in gw_patch["requestBody"]["content"]
    assert cluster.api("GET", "/openapi/v3/apis/nothing/v1").status_code == 404


def test_openapi_v2_is_json_and_protobuf_is_not_acceptable(cluster):
    v2 = cluster.api("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert v2.status_code == 200 and v2.json()["swagger"] == "2.0"
    assert "io.k8s.api.apps.v1.Deployment" in v2.json()["definitions"]
    proto = cluster.api(
        "GET",
        "/openapi/v2",
        headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
    )
    assert proto.status_code == 406 and proto.json()["reason"] == "NotAcceptable"


def _watch(cluster: Kubectl, query: str, events: list[dict], ready: threading.Event) -> None:
    with cluster.api("GET", f"{CONFIGMAPS}?watch=true&{query}", stream=True) as reply:
        ready.set()
        for line in reply.iter_lines():
            if line:
                events.append(json.loads(line))


def test_watch_streams_changes_after_a_resource_version(cluster):
    cluster.api("POST", CONFIGMAPS, json=_configmap("before"))
    listed = cluster.api("GET", CONFIGMAPS).json()
    version = listed["metadata"]["resourceVersion"]
    events: list[dict] = []
    ready = threading.Event()
    query = f"resourceVersion={version}&timeoutSeconds=2"
    reader = threading.Thread(target=_watch, args=(cluster, query, events, ready))
    reader.start()
    ready.wait(10)
    created = cluster.api("POST", CONFIGMAPS, json=_configmap("after", a="1"))
    assert created.status_code == 201, created.text
    merge = {"Content-Type": "application/merge-patch+json"}
    patched = cluster.api("PATCH", f"{CONFIGMAPS}/after", data='{"data":{"a":"2"}}', headers=merge)
    assert patched.status_code == 200, patched.text
    assert cluster.api("DELETE", f"{CONFIGMAPS}/after").status_code == 200
    reader.join(15)
    assert not reader.is_alive(), "the watch did not end at timeoutSeconds"
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert ("ADDED", "before") not in seen  # older than the resourceVersion asked for
    assert seen[:1] == [("ADDED", "after")] and ("DELETED", "after") in seen
    modified = [e for e in events if e["type"] == "MODIFIED"]
    assert modified and modified[-1]["object"]["data"] == {"a": "2"}
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(version)


def test_watch_list_sends_initial_events_then_a_bookmark(cluster):
    cluster.api("POST", CONFIGMAPS, json=_configmap("one"))
    events: list[dict] = []
    ready = threading.Event()
    plain = "sendInitialEvents=true&allowWatchBookmarks=true&timeoutSeconds=1"
    refused = cluster.api("GET", f"{CONFIGMAPS}?watch=true&{plain}")
    assert refused.status_code == 422 and "resourceVersionMatch" in refused.json()["message"]
    query = f"{plain}&resourceVersionMatch=NotOlderThan"
    _watch(cluster, query, events, ready)
    assert ("ADDED", "one") in [(e["type"], e["object"]["metadata"].get("name")) for e in events]
    bookmark = next(e for e in events if e["type"] == "BOOKMARK")
    assert bookmark["object"]["kind"] == "ConfigMap"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_update_and_patch_rules(cluster):
    cluster.api("POST", CONFIGMAPS, json=_configmap("c", a="1"))
    current = cluster.api("GET", f"{CONFIGMAPS}/c").json()
    stale = {**current, "data": {"a": "2"}}
    assert cluster.api("PUT", f"{CONFIGMAPS}/c", json=stale).status_code == 200
    conflict = cluster.api("PUT", f"{CONFIGMAPS}/c", json={**stale, "data": {"a": "3"}})
    assert (
        conflict.status_code == 409 and "the object has been modified" in conflict.json()["message"]
    )
    json_patch = {"Content-Type": "application/json-patch+json"}
    failed = cluster.api(
        "PATCH",
        f"{CONFIGMAPS}/c",
        data=json.dumps([{"op": "test", "path": "/data/a", "value": "9"}]),
        headers=json_patch,
    )
    assert failed.status_code == 422
    # A strategic merge patch of a custom resource: not supported (415).
    smp = {"Content-Type": "application/strategic-merge-patch+json"}
    cluster.api(
        "PATCH",
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/gke-l7-rilb",
        data="{}",
        headers=smp,
    )
    gw = cluster.api(
        "PATCH",
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/gke-l7-rilb",
        data="{}",
        headers=smp,
    )
    assert gw.status_code == 415
    # Unknown content type on a PATCH.
    plain = cluster.api(
        "PATCH", f"{CONFIGMAPS}/c", data="{}", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415


def test_writes_check_the_url_identity_as_the_api_server_does(cluster):
    """One identity check for create, update, patch and apply (sandbox/kube/writes.py
    check_identity): an empty namespace takes the URL's, a cluster-scoped kind's is cleared,
    a different one is 400, as is a name or kind the URL does not name."""
    blank = {**_configmap("blank"), "metadata": {"name": "blank", "namespace": ""}}
    created = cluster.api("POST", CONFIGMAPS, json=blank)
    assert created.status_code == 201 and created.json()["metadata"]["namespace"] == "default"
    elsewhere = {**_configmap("away"), "metadata": {"name": "away", "namespace": "kube-system"}}
    assert cluster.api("POST", CONFIGMAPS, json=elsewhere).status_code == 400
    scoped = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t", "namespace": "x"}}
    made = cluster.api("POST", NS, json=scoped)
    assert made.status_code == 201 and "namespace" not in made.json()["metadata"]
    merge = {"Content-Type": "application/merge-patch+json"}
    moved = cluster.api(
        "PATCH",
        f"{CONFIGMAPS}/blank",
        data='{"metadata":{"namespace":"kube-system"}}',
        headers=merge,
    )
    assert moved.status_code == 400 and "namespace" in moved.json()["message"]
    renamed = cluster.api(
        "PUT", f"{CONFIGMAPS}/blank", json={**_configmap("other"), "metadata": {"name": "other"}}
    )
    assert renamed.status_code == 400 and "name on the URL" in renamed.json()["message"]
    apply = {"Content-Type": "application/apply-patch+yaml"}
    wrong_kind = json.dumps({**_configmap("blank"), "kind": "Secret"})
    applied = cluster.api(
        "PATCH", f"{CONFIGMAPS}/blank?fieldManager=t", data=wrong_kind, headers=apply
    )
    assert applied.status_code == 400 and "kind in the data" in applied.json()["message"]


def test_a_body_nested_too_deep_is_a_bad_request():
    # Go's decoder refuses past a depth of 10000; Python's recursion must not become a 500.
    for deep in (b"[" * 100_000 + b"]" * 100_000, b"a:\n" + b"[" * 100_000):
        with pytest.raises(KubeError) as refused:
            writes.read_json(deep)
        assert refused.value.code == 400 and refused.value.reason == "BadRequest"


DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def _deployment(name: str = "d", **spec: object) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
            **spec,
        },
    }


def test_the_same_deployment_written_again_keeps_its_generation(cluster):
    """generation moves when the spec does, compared after defaulting: a manifest that
    leaves the defaults out (strategy, progressDeadlineSeconds...) is the same spec."""
    apply = {"Content-Type": "application/apply-patch+yaml"}
    url = f"{DEPLOYMENTS}/d?fieldManager=t"
    first = cluster.api("PATCH", url, data=json.dumps(_deployment()), headers=apply).json()
    again = cluster.api("PATCH", url, data=json.dumps(_deployment()), headers=apply).json()
    put = cluster.api("PUT", f"{DEPLOYMENTS}/d", json=_deployment()).json()
    assert first["metadata"]["generation"] == again["metadata"]["generation"] == 1
    assert put["metadata"]["generation"] == 1
    scaled = cluster.api(
        "PUT",
        f"{DEPLOYMENTS}/d",
        json={**_deployment(), "spec": {**_deployment()["spec"], "replicas": 1}},
    ).json()
    assert scaled["metadata"]["generation"] == 2


@pytest.mark.parametrize(
    ("strategy", "refusal"),
    [
        ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "abc"}}, "valid percent"),
        ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": -1}}, "greater than or"),
        ({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}, "may not be 0 when"),
        ({"rollingUpdate": {"maxUnavailable": "150%"}}, "not be greater than 100%"),
        ({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}, "may not be specified"),
    ],
)
def test_deployment_strategy_rules(cluster, strategy, refusal):
    refused = cluster.api("POST", DEPLOYMENTS, json=_deployment("s", replicas=2, strategy=strategy))
    assert refused.status_code == 422 and refusal in refused.json()["message"]
    assert cluster.api("GET", DEPLOYMENTS).status_code == 200  # the cluster still answers


def test_a_namespaced_kind_is_written_only_in_its_namespace(cluster):
    across = "/apis/apps/v1/deployments"
    assert cluster.api("POST", across, json=_deployment("x")).status_code == 405
    assert cluster.api("GET", f"{across}/x").status_code == 404
    assert cluster.api("GET", across).status_code == 200
