"""The OpenAPI documents a sandbox cluster's API server publishes: v2 (`/openapi/v2`) and
v3 (`/openapi/v3`, an index of one document per group-version), for the kinds it serves.

Kubernetes publishes both (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition):
kubectl reads v3 first (the index, then `/openapi/v3/apis/G/V?hash=...` as JSON) to see
whether a kind's PATCH takes `fieldValidation` (then it leaves validation to the server)
and to find the strategic-merge keys of a client-side apply; it falls back to v2, which it
asks for as protobuf only. The definitions are the Kubernetes OpenAPI schemas the server
validates with (sandbox/kube/validation.py: the `kubernetes-validate` package's, which keeps
the `x-kubernetes-*` extensions), turned back from JSON Schema into OpenAPI (`type` a
string, IntOrString and Quantity as the `int-or-string` and `quantity` formats); a CRD's
kinds carry the CRD's `openAPIV3Schema` under the reversed-group name the API server gives
them (`io.k8s.networking.gateway.v1.Gateway`). Vendor extensions as documented in
kubernetes/api/openapi-spec/README.md (`x-kubernetes-group-version-kind`,
`x-kubernetes-action`, `x-kubernetes-patch-merge-key`, ...).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kubernetes_validate

from sandbox.kube.resources import Kind

if TYPE_CHECKING:
    from sandbox.kube.store import KubeStore

TITLE = "Kubernetes"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
# The types every group-version document refers to, whatever its kinds.
COMMON = (f"{META}.DeleteOptions", f"{META}.Status", f"{META}.Patch", f"{META}.WatchEvent")
# Query parameters of a PATCH (https://kubernetes.io/docs/reference/kubernetes-api/common-parameters/common-parameters/).
PATCH_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
    "pretty",
)
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy", "pretty")
PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
CUSTOM_PATCH_TYPES = PATCH_TYPES[:3]


def _schema_dir() -> Path:
    from sandbox.kube.validation import SCHEMA_VERSION

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return root / f"v{SCHEMA_VERSION}-local"


def _to_openapi(node: Any, prefix: str) -> Any:
    """A JSON Schema node of kubernetes-validate back in OpenAPI's form."""
    if isinstance(node, list):
        return [_to_openapi(n, prefix) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = prefix + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            out[key] = next(t for t in value if t != "null")
        elif key == "properties":
            props = {k: _to_openapi(v, prefix) for k, v in value.items()}
            for fixed in ("apiVersion", "kind"):  # the schemas' own pin, not OpenAPI's
                if isinstance(props.get(fixed), dict):
                    props[fixed].pop("enum", None)
            out[key] = props
        else:
            out[key] = _to_openapi(value, prefix)
    return out


@functools.cache
def _builtin(prefix: str) -> dict[str, dict[str, Any]]:
    raw = json.loads((_schema_dir() / "_definitions.json").read_text())["$defs"]
    defs = {name: _to_openapi(schema, prefix) for name, schema in raw.items()}
    # The API server's own spellings of the two union types.
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    }
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
        "description": "Quantity is a fixed-point representation of a number.",
        "type": "string",
        "format": "quantity",
    }
    return defs


@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    found: dict[tuple[str, str, str], str] = {}
    for name, schema in _builtin("#/definitions/").items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            found.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return found


def definitions() -> dict[str, dict[str, Any]]:
    """The built-in kinds' definitions, as in the v2 document."""
    return _builtin("#/definitions/")


def definition_name(kind: Kind) -> str | None:
    """The definition of a built-in kind; None for a CRD's (or GKE's ComputeClass)."""
    return _by_gvk().get((kind.group, kind.version, kind.kind))


def _custom_name(kind: Kind) -> str:
    """How the API server names a CRD kind's schema: the group reversed, version, kind."""
    return ".".join([*reversed(kind.group.split(".")), kind.version, kind.kind])


def _custom_schema(kind: Kind, schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    props = out.setdefault("properties", {})
    props["metadata"] = {"$ref": f"{prefix}{META}.ObjectMeta"}
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    out["type"] = "object"
    out["x-kubernetes-group-version-kind"] = [
        {"group": kind.group, "version": kind.version, "kind": kind.kind}
    ]
    return out


def _schema_of(store: KubeStore, kind: Kind, prefix: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The kind's definition name and the definitions it needs (itself and what it refers to)."""
    builtin = _builtin(prefix)
    name = _by_gvk().get((kind.group, kind.version, kind.kind))
    if name is not None:
        return name, _closure(builtin, [name, *COMMON])
    custom = store.schemas.get(kind)
    name = _custom_name(kind)
    if custom is None:  # served without a schema of ours (GKE's ComputeClass): open
        custom = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    defs = _closure(builtin, [f"{META}.ObjectMeta", *COMMON])
    defs[name] = _custom_schema(kind, custom, prefix)
    return name, defs


def _closure(defs: dict[str, dict[str, Any]], roots: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out or name not in defs:
            continue
        out[name] = defs[name]
        todo += _refs(defs[name])
    return out


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")  # (JSONSchemaProps also has a property named $ref)
        found = [ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [r for n in node for r in _refs(n)]
    return []


def _base(kind: Kind) -> str:
    return f"/api/{kind.version}" if not kind.group else f"/apis/{kind.group}/{kind.version}"


def _param(name: str, v3: bool) -> dict[str, Any]:
    typed = {"type": "boolean" if name in ("watch", "allowWatchBookmarks", "force") else "string"}
    if name in ("limit", "timeoutSeconds", "gracePeriodSeconds"):
        typed = {"type": "integer"}
    return {
        "name": name,
        "in": "query",
        "uniqueItems": True,
        **({"schema": typed} if v3 else typed),
    }


def _op(
    kind: Kind,
    action: str,
    params: tuple[str, ...],
    ref: str,
    v3: bool,
    *,
    consumes: tuple[str, ...] = (),
    status: str = "200",
) -> dict[str, Any]:
    gvk = {"group": kind.group, "version": kind.version, "kind": kind.kind}
    verb = {"post": "create", "put": "replace", "get": "read"}.get(action, action)
    op: dict[str, Any] = {
        "operationId": f"{verb}{kind.kind}",
        "tags": [kind.api_version.replace("/", "_").replace(".", "")],
        "parameters": [_param(p, v3) for p in params],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if v3:
        content = {"application/json": {"schema": {"$ref": ref}}}
        op["responses"] = {status: {"description": "OK", "content": content}}
        if consumes:
            op["requestBody"] = {
                "content": {c: {"schema": {"$ref": ref}} for c in consumes},
                "required": True,
            }
    else:
        op["responses"] = {status: {"description": "OK", "schema": {"$ref": ref}}}
        op["produces"] = ["application/json", "application/yaml"]
        if consumes:
            op["consumes"] = list(consumes)
            op["parameters"].append(
                {"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}}
            )
    return op


def _paths(kind: Kind, name: str, prefix: str, v3: bool) -> dict[str, Any]:
    ref = prefix + name
    # A custom resource takes no strategic merge patch: kubectl's client-side apply reads
    # this list to choose between a strategic and a JSON merge patch.
    patch_types = PATCH_TYPES if definition_name(kind) else CUSTOM_PATCH_TYPES
    ns = "/namespaces/{namespace}" if kind.namespaced else ""
    collection = f"{_base(kind)}{ns}/{kind.plural}"
    json_only = ("application/json",)
    return {
        collection: {
            "get": _op(kind, "list", LIST_PARAMS, ref, v3),
            "post": _op(kind, "post", WRITE_PARAMS, ref, v3, consumes=json_only, status="201"),
        },
        f"{collection}/{{name}}": {
            "get": _op(kind, "get", ("pretty",), ref, v3),
            "put": _op(kind, "put", WRITE_PARAMS, ref, v3, consumes=json_only),
            "patch": _op(kind, "patch", PATCH_PARAMS, ref, v3, consumes=patch_types),
            "delete": _op(kind, "delete", DELETE_PARAMS, ref, v3),
        },
    }


def _group_version(kind: Kind) -> str:
    return f"api/{kind.version}" if not kind.group else f"apis/{kind.group}/{kind.version}"


def _document(store: KubeStore, kinds: list[Kind], v3: bool) -> dict[str, Any]:
    from sandbox.kube.api import GIT_VERSION

    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    paths: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    for kind in kinds:
        name, needed = _schema_of(store, kind, prefix)
        defs.update(needed)
        paths.update(_paths(kind, name, prefix, v3))
    info = {"title": TITLE, "version": GIT_VERSION}
    if v3:
        return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": defs}}
    return {"swagger": "2.0", "info": info, "paths": paths, "definitions": defs}


def v2(store: KubeStore) -> dict[str, Any]:
    kinds = sorted(store.kinds.values(), key=_group_version)
    key = ("v2", tuple((k.group, k.version, k.plural, id(store.schemas.get(k))) for k in kinds))
    cache = _CACHE.setdefault(store, {})
    if key not in cache:
        cache[key] = _document(store, kinds, v3=False)
    return cache[key]


def _by_group_version(store: KubeStore) -> dict[str, list[Kind]]:
    out: dict[str, list[Kind]] = {}
    for kind in store.kinds.values():
        out.setdefault(_group_version(kind), []).append(kind)
    return out


# Documents built, per store, for the kinds and CRD schemas it serves now.
_CACHE: weakref.WeakKeyDictionary[KubeStore, dict[Any, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def v3_document(store: KubeStore, group_version: str) -> dict[str, Any] | None:
    """`/openapi/v3/<group_version>` (`api/v1`, `apis/apps/v1`), None if not served."""
    kinds = _by_group_version(store).get(group_version)
    if not kinds:
        return None
    signature = tuple(sorted((k.plural, id(store.schemas.get(k))) for k in kinds))
    cache = _CACHE.setdefault(store, {})
    key = (group_version, signature)
    if key not in cache:
        cache[key] = _document(store, kinds, v3=True)
    return cache[key]


_DIGESTS: dict[int, tuple[dict[str, Any], str]] = {}


def digest(document: dict[str, Any]) -> str:
    """The hash a v3 index gives each document (its content's: it changes with a CRD).
    Documents are cached and never changed, so each is hashed once."""
    held = _DIGESTS.get(id(document))
    if held is not None and held[0] is document:
        return held[1]
    text = json.dumps(document, sort_keys=True).encode()
    value = hashlib.sha512(text).hexdigest()[:128].upper()
    if len(_DIGESTS) > 256:
        _DIGESTS.clear()
    _DIGESTS[id(document)] = (document, value)
    return value


def v3_index(store: KubeStore) -> dict[str, Any]:
    paths = {}
    for group_version in sorted(_by_group_version(store)):
        document = v3_document(store, group_version)
        if document is not None:
            url = f"/openapi/v3/{group_version}?hash={digest(document)}"
            paths[group_version] = {"serverRelativeURL": url}
    return {"paths": paths}
