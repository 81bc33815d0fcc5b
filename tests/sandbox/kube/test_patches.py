"""The patch types the sandbox's API server applies (sandbox/kube/patches.py), on the
Kubernetes schemas: strategic merge by the fields' merge keys, RFC 6902 and RFC 7386."""

from __future__ import annotations

import pytest

from sandbox.kube import openapi, patches

DEFS = openapi.definitions()
DEPLOYMENT = DEFS["io.k8s.api.apps.v1.Deployment"]


def _deployment(containers: list[dict], **spec: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
        "spec": {"template": {"spec": {"containers": containers}}, **spec},
    }


def _smp(original: dict, patch: dict) -> dict:
    return patches.strategic_merge(original, patch, DEPLOYMENT, patches.Schemas(DEFS))


def test_containers_merge_by_name_and_their_env_by_name():
    original = _deployment(
        [
            {"name": "vllm", "image": "v1", "env": [{"name": "A", "value": "1"}]},
            {"name": "syncer", "image": "s1"},
        ]
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "vllm", "image": "v2", "env": [{"name": "B", "value": "2"}]}
                    ]
                }
            }
        }
    }
    merged = _smp(original, patch)
    vllm, syncer = merged["spec"]["template"]["spec"]["containers"]
    assert vllm["image"] == "v2" and syncer == {"name": "syncer", "image": "s1"}
    assert vllm["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert original["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"  # untouched


def test_directives_delete_order_retain_and_null():
    original = _deployment(
        [{"name": "a", "image": "1", "args": ["--x"]}, {"name": "b", "image": "2"}],
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
    )
    patch = {
        "metadata": {"labels": {"a": None, "c": "3"}, "finalizers": ["y"]},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                    "containers": [{"name": "b", "$patch": "delete"}, {"name": "c", "image": "3"}],
                }
            },
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
        },
    }
    merged = _smp(original, patch)
    assert merged["metadata"]["labels"] == {"b": "2", "c": "3"}
    # finalizers: a list of scalars with the merge strategy, so a union.
    assert merged["metadata"]["finalizers"] == ["x", "y"]
    names = [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]]
    assert names == ["c", "a"]
    assert merged["spec"]["strategy"] == {"type": "Recreate"}


def test_a_list_without_merge_strategy_is_replaced():
    original = _deployment([{"name": "a", "image": "1", "args": ["--x", "--y"]}])
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "a", "args": ["--z"]}]}}}}
    merged = _smp(original, patch)
    assert merged["spec"]["template"]["spec"]["containers"][0]["args"] == ["--z"]


def test_an_item_without_its_merge_key_is_an_error():
    with pytest.raises(patches.PatchError, match="does not contain declared merge key: name"):
        _smp(_deployment([]), {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


def test_json_patch_operations():
    doc = {"metadata": {"labels": {"a/b": "1"}}, "spec": {"ports": [{"port": 80}]}}
    out = patches.json_patch(
        doc,
        [
            {"op": "test", "path": "/metadata/labels/a~1b", "value": "1"},
            {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
            {"op": "replace", "path": "/spec/ports/0/port", "value": 8080},
            {"op": "copy", "from": "/spec/ports/1", "path": "/spec/extra"},
            {"op": "move", "from": "/spec/extra", "path": "/spec/moved"},
            {"op": "remove", "path": "/metadata/labels/a~1b"},
        ],
    )
    assert out == {
        "metadata": {"labels": {}},
        "spec": {"ports": [{"port": 8080}, {"port": 443}], "moved": {"port": 443}},
    }
    assert doc["spec"]["ports"] == [{"port": 80}]
    with pytest.raises(patches.PatchError, match="test failed"):
        patches.json_patch(doc, [{"op": "test", "path": "/spec/ports/0/port", "value": 1}])
    with pytest.raises(patches.PatchError, match="missing"):
        patches.json_patch(doc, [{"op": "replace", "path": "/spec/nothing", "value": 1}])
    # JSON's true is not 1, though Python's True == 1, nor is a list of them.
    flags = {"a": 1, "b": [0, 1.0]}
    with pytest.raises(patches.PatchError, match="test failed"):
        patches.json_patch(flags, [{"op": "test", "path": "/a", "value": True}])
    with pytest.raises(patches.PatchError, match="test failed"):
        patches.json_patch(flags, [{"op": "test", "path": "/b", "value": [False, 1]}])
    assert patches.json_patch(flags, [{"op": "test", "path": "/b", "value": [0.0, 1]}]) == flags


def test_merge_patch_replaces_lists_and_removes_nulls():
    doc = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert patches.merge_patch(doc, {"a": {"c": [3], "b": None}, "e": {"f": None}}) == {
        "a": {"c": [3]},
        "d": 1,
        "e": {},
    }
