"""The three non-apply patch types the API server takes on PATCH
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):

- `application/json-patch+json`: a JSON Patch (RFC 6902: add, remove, replace, move, copy,
  test, JSON Pointers of RFC 6901);
- `application/merge-patch+json`: a JSON Merge Patch (RFC 7386: objects merge, `null`
  removes, anything else replaces, lists included);
- `application/strategic-merge-patch+json`: Kubernetes' strategic merge patch, built-in
  kinds only (a custom resource answers 415: "Custom resources ... strategic merge patch
  is not supported", same page). A list whose field carries `x-kubernetes-patch-strategy:
  merge` in the Kubernetes OpenAPI schema merges item by item on its
  `x-kubernetes-patch-merge-key` (containers by `name`, ports by `containerPort`, env by
  `name`...), a list of scalars with that strategy (finalizers) is a union, any other list
  is replaced; the directives `$patch` (replace / delete / merge), `$retainKeys`,
  `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>` that kubectl's
  client-side apply sends are honoured
  (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).

RFC 6902 and 7386 are implemented here rather than with PyPI's `jsonpatch`: they are short,
the refusals must read as Kubernetes' (evanphx/json-patch: "add operation does not apply:
doc is missing path", "testing value /x failed: test failed") for kubectl to print them,
and that library's `test` compares with Python's `==`, where `true` equals `1`; no
Python library does strategic merge.
"""

from __future__ import annotations

import copy
from typing import Any

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class PatchError(Exception):
    """A patch that cannot be applied (the API server answers 422 with this message)."""


# -- RFC 7386 ---------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- RFC 6902 ---------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer "{path}" must start with /')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def _index(node: list[Any], part: str, op: str, path: str, *, adding: bool) -> int:
    if adding and part == "-":
        return len(node)
    if not part.isdigit() or int(part) > len(node) - (0 if adding else 1):
        raise PatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return int(part)


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _parent(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list):
        return node[_index(node, last, op, path, adding=False)]
    raise PatchError(f"{op} operation does not apply: doc is missing key: {path}")


def _remove(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        raise PatchError(f"{op} operation does not apply: cannot remove the whole document")
    node = _parent(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node.pop(last)
    if isinstance(node, list):
        return node.pop(_index(node, last, op, path, adding=False))
    raise PatchError(f"{op} operation does not apply: doc is missing key: {path}")


def _add(doc: Any, path: str, value: Any, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _parent(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        node.insert(_index(node, last, op, path, adding=True), value)
    else:
        raise PatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return doc


def _same(a: Any, b: Any) -> bool:
    """JSON equality: Python's `==` takes `true` for `1` and `false` for `0`; JSON does not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("invalid JSON Patch")
        op, path = operation.get("op"), operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{op} operation does not apply: missing path")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"{op} operation does not apply: missing value")
        value = copy.deepcopy(operation.get("value"))
        if op == "add":
            doc = _add(doc, path, value, op)
        elif op == "remove":
            _remove(doc, path, op)
        elif op == "replace":
            _get(doc, path, op)  # must exist
            if _pointer(path):
                _remove(doc, path, op)
            doc = _add(doc, path, value, op)
        elif op in ("move", "copy"):
            source = operation.get("from")
            if not isinstance(source, str):
                raise PatchError(f"{op} operation does not apply: missing from path")
            moved = (
                _remove(doc, source, op) if op == "move" else copy.deepcopy(_get(doc, source, op))
            )
            doc = _add(doc, path, moved, op)
        elif op == "test":
            if not _same(_get(doc, path, op), value):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {op}")
    return doc


# -- strategic merge --------------------------------------------------------------------

PATCH = "$patch"
RETAIN = "$retainKeys"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class Schemas:
    """Walks the Kubernetes OpenAPI definitions (sandbox/kube/openapi.py) by field."""

    def __init__(self, definitions: dict[str, dict[str, Any]]) -> None:
        self.defs = definitions

    def resolve(self, node: dict[str, Any] | None) -> dict[str, Any]:
        while node and isinstance(node.get("$ref"), str):
            node = self.defs.get(node["$ref"].rsplit("/", 1)[-1])
        if node and "allOf" in node and len(node["allOf"]) == 1:
            return self.resolve(node["allOf"][0])
        return node or {}

    def field(self, node: dict[str, Any], name: str) -> dict[str, Any]:
        return (self.resolve(node).get("properties") or {}).get(name) or {}

    def items(self, node: dict[str, Any]) -> dict[str, Any]:
        return self.resolve(node.get("items") or {})


def strategic_merge(
    original: dict[str, Any], patch: Any, schema: dict[str, Any], schemas: Schemas
) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(original), patch, schema, schemas)


def _merge_map(
    original: Any, patch: dict[str, Any], schema: dict[str, Any], schemas: Schemas
) -> Any:
    directive = patch.get(PATCH)
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != PATCH}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive} in map: {patch}")
    out = dict(original) if isinstance(original, dict) else {}
    retain = patch.get(RETAIN)
    orders = {}
    for key, value in patch.items():
        if key in (PATCH, RETAIN):
            continue
        if key.startswith(ORDER):
            orders[key[len(ORDER) :]] = value
            continue
        if key.startswith(DELETE_PRIMITIVE):
            name = key[len(DELETE_PRIMITIVE) :]
            out[name] = [v for v in out.get(name) or [] if v not in (value or [])]
            continue
        field = schemas.field(schema, key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and _is_open(field, schemas):
            out[key] = merge_patch(out.get(key), value)
        elif isinstance(value, dict):
            merged = _merge_map(out.get(key), value, field, schemas)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, field, schemas)
        else:
            out[key] = copy.deepcopy(value)
    for name, order in orders.items():
        if isinstance(out.get(name), list):
            out[name] = _ordered(out[name], order, schemas.field(schema, name))
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _is_open(field: dict[str, Any], schemas: Schemas) -> bool:
    """A map of arbitrary keys (labels, annotations, data, resource requests): merged key
    by key as a merge patch (a `$patch` key there is data, not a directive)."""
    resolved = schemas.resolve(field)
    return bool(resolved.get("additionalProperties")) and not resolved.get("properties")


def _strategy(field: dict[str, Any]) -> tuple[bool, str | None]:
    strategy = str(field.get("x-kubernetes-patch-strategy") or "")
    return "merge" in strategy.split(","), field.get("x-kubernetes-patch-merge-key")


def _merge_list(
    original: Any, patch: list[Any], field: dict[str, Any], schemas: Schemas
) -> list[Any]:
    merge, key = _strategy(field)
    replace = [p for p in patch if isinstance(p, dict) and p.get(PATCH) == "replace"]
    if not merge or replace:
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and PATCH in p)]
    current = list(original) if isinstance(original, list) else []
    if key is None:  # a list of scalars merged as a set: the patch's new values appended
        return current + [copy.deepcopy(v) for v in patch if v not in current]
    item_schema = schemas.items(field)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        found = next(
            (i for i, o in enumerate(current) if isinstance(o, dict) and o.get(key) == item[key]),
            None,
        )
        if item.get(PATCH) == "delete":
            if found is not None:
                current.pop(found)
            continue
        if found is None:
            current.append({k: copy.deepcopy(v) for k, v in item.items() if k != PATCH})
        else:
            current[found] = _merge_map(current[found], item, item_schema, schemas)
    return current


def _ordered(items: list[Any], order: Any, field: dict[str, Any]) -> list[Any]:
    """`$setElementOrder`: the items named in the order given first, the rest after."""
    _, key = _strategy(field)
    if not isinstance(order, list):
        return items

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    ranked = sorted(
        enumerate(items),
        key=lambda pair: (
            wanted.index(ident(pair[1])) if ident(pair[1]) in wanted else len(wanted),
            pair[0],
        ),
    )
    return [item for _, item in ranked]
