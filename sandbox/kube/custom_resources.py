"""Custom resources: the CustomResourceDefinitions a sandbox cluster holds, and how the
objects of their kinds are defaulted and validated, as the API server does it.

A kind exists only once its CRD is applied
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/):
before that, and for any group or version the CRD does not serve, discovery and the
resource path answer 404 NotFound "the server could not find the requested resource", and
kubectl says `no matches for kind "K" in version "G/V"` (it maps kinds through discovery).
That is how a real cluster refuses seed 004's `inference.networking.k8s.io/v1alpha1`
InferenceObjective: the v1.0.0 CRD serves it as `inference.networking.x-k8s.io/v1alpha2`.

Objects are checked against the version's `openAPIV3Schema` (a structural schema):
`default`s filled in first, then types, `required`, `enum`, lengths, counts, bounds,
patterns, list-type uniqueness; a field the schema does not declare is an error, as with
fieldValidation=Strict, which Hangar sends
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation,
#defaulting, #field-pruning). The `x-kubernetes-validations` CEL rules are run by
sandbox/kube/cel.py.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from sandbox.kube import cel
from sandbox.kube.resources import BY_PLURAL, Kind

CRDS = BY_PLURAL[("apiextensions.k8s.io", "v1", "customresourcedefinitions")]
HERE = Path(__file__).parent / "crds"
# What GKE installs itself when the Gateway API is on (the standard channel), unchanged
# from kubernetes-sigs/gateway-api v1.4.1 config/crd/standard/.
GATEWAY_API = HERE / "gateway-api-v1.4.1"
# ObjectMeta's fields (what metadata may hold on any kind).
OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


def load(path: Path) -> list[dict[str, Any]]:
    """The CRDs in a folder of YAML files (one or more documents each)."""
    found: list[dict[str, Any]] = []
    for file in sorted(path.glob("*.yaml")):
        found += [d for d in yaml.safe_load_all(file.read_text()) if d]
    return found


def served(crd: dict[str, Any]) -> list[tuple[Kind, dict[str, Any]]]:
    """Each version the CRD serves, as a Kind with its openAPIV3Schema."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served"):
            continue
        kind = Kind(
            spec["group"],
            version["name"],
            names["plural"],
            names["kind"],
            spec.get("scope") == "Namespaced",
            tuple(names.get("shortNames") or ()),
        )
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
        out.append((kind, schema))
    return out


def crd_errors(crd: dict[str, Any]) -> list[str]:
    """What the API server refuses in a CRD itself (apiextensions validation)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = []
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if crd["metadata"]["name"] != expected:
        causes.append(
            f'metadata.name: Invalid value: "{crd["metadata"]["name"]}": must be '
            'spec.names.plural+"."+spec.group'
        )
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    if len(storage) != 1:
        causes.append(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
        )
    return causes


def crd_status(crd: dict[str, Any], at: str) -> dict[str, Any]:
    """Accepted and Established at once (nothing else claims these names here)."""
    spec = crd["spec"]
    return {
        "acceptedNames": dict(spec["names"]),
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": m, "lastTransitionTime": at}
            for t, r, m in (
                ("NamesAccepted", "NoConflicts", "no conflicts found"),
                ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            )
        ],
        "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
    }


# -- defaulting -------------------------------------------------------------------------


def apply_defaults(schema: dict[str, Any], value: Any) -> None:
    """Fill in the schema's `default`s where the object leaves a field out, at every level
    the object has (a default inside an absent object is not applied)."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            if key in props:
                apply_defaults(props[key], item)
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


# -- validation -------------------------------------------------------------------------


class Problems:
    """What the checks found: fields not declared (400) and invalid values (422)."""

    def __init__(self) -> None:
        self.undeclared: list[str] = []
        self.invalid: list[str] = []


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '"null"'
    if isinstance(value, dict | list):
        return "<object>" if isinstance(value, dict) else "<array>"
    return str(value)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _type_ok(schema: dict[str, Any], value: Any) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    wanted = schema.get("type")
    if wanted is None:
        return True
    if isinstance(value, bool) and wanted != "boolean":
        return False
    return isinstance(value, _TYPES.get(wanted, (object,)))


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def validate(schema: dict[str, Any], obj: dict[str, Any]) -> Problems:
    """Check a custom resource against its version's schema (after apply_defaults)."""
    problems = Problems()
    for key in obj["metadata"]:
        if key not in OBJECT_META:
            problems.undeclared.append(f".metadata.{key}: field not declared in schema")
    props = schema.get("properties") or {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if key not in props:
            problems.undeclared.append(f".{key}: field not declared in schema")
            continue
        _check(props[key], value, [key], problems)
    for key in schema.get("required") or []:
        if key not in obj:
            problems.invalid.append(f"{key}: Required value")
    return problems


def _check(schema: dict[str, Any], value: Any, at: list[str | int], out: Problems) -> None:
    where = _path(at)
    if value is None:
        if not schema.get("nullable"):
            out.invalid.append(
                f'{where}: Invalid value: "null": {where} in body must be of type '
                f'{schema.get("type", "object")}: "null"'
            )
        return
    if not _type_ok(schema, value):
        wanted = "integer or string" if schema.get("x-kubernetes-int-or-string") else schema["type"]
        out.invalid.append(
            f"{where}: Invalid value: {_show(value)}: {where} in body must be of type "
            f"{wanted}: {_show(value)}"
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(_show(v) for v in schema["enum"])
        out.invalid.append(
            f"{where}: Unsupported value: {_show(value)}: supported values: {choices}"
        )
    if isinstance(value, str):
        _check_string(schema, value, where, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(schema, value, where, out)
    elif isinstance(value, list):
        _check_list(schema, value, at, out)
    elif isinstance(value, dict):
        _check_object(schema, value, at, out)
    if isinstance(value, list | dict):
        out.invalid += cel.errors(schema, value, where)


def _check_string(schema: dict[str, Any], value: str, where: str, out: Problems) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.invalid.append(f"{where}: Too long: may not be more than {schema['maxLength']} bytes")
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.invalid.append(
            f"{where}: Invalid value: {_show(value)}: {where} in body should be at least "
            f"{schema['minLength']} chars long"
        )
    pattern = schema.get("pattern")
    if pattern and re.search(pattern, value) is None:
        out.invalid.append(
            f"{where}: Invalid value: {_show(value)}: {where} in body should match '{pattern}'"
        )


def _check_number(schema: dict[str, Any], value: float, where: str, out: Problems) -> None:
    if "maximum" in schema and value > schema["maximum"]:
        out.invalid.append(
            f"{where}: Invalid value: {value}: {where} in body should be less than or equal "
            f"to {schema['maximum']}"
        )
    if "minimum" in schema and value < schema["minimum"]:
        out.invalid.append(
            f"{where}: Invalid value: {value}: {where} in body should be greater than or "
            f"equal to {schema['minimum']}"
        )


def _check_list(
    schema: dict[str, Any], value: list[Any], at: list[str | int], out: Problems
) -> None:
    where = _path(at)
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.invalid.append(
            f"{where}: Too many: {len(value)}: must have at most {schema['maxItems']} items"
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.invalid.append(
            f"{where}: Invalid value: {len(value)}: {where} in body should have at least "
            f"{schema['minItems']} items"
        )
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys") or []
    seen: list[Any] = []
    for i, item in enumerate(value):
        ident = item if list_type == "set" else None
        if list_type == "map" and isinstance(item, dict):
            ident = {k: item.get(k) for k in keys}
        if ident is not None and ident in seen:
            out.invalid.append(f"{_path([*at, i])}: Duplicate value: {_show(ident)}")
        seen.append(ident)
        if isinstance(schema.get("items"), dict):
            _check(schema["items"], item, [*at, i], out)


def _check_object(
    schema: dict[str, Any], value: dict[str, Any], at: list[str | int], out: Problems
) -> None:
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    open_ended = schema.get("x-kubernetes-preserve-unknown-fields") or (
        props is None and extra in (None, True)
    )
    for key, item in value.items():
        if props and key in props:
            _check(props[key], item, [*at, key], out)
        elif isinstance(extra, dict):
            _check(extra, item, [*at, key], out)
        elif not open_ended:
            out.undeclared.append(f".{_path([*at, key])}: field not declared in schema")
    for key in schema.get("required") or []:
        if key not in value:
            out.invalid.append(f"{_path([*at, key])}: Required value")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        out.invalid.append(
            f"{_path(at)}: Too many: {len(value)}: must have at most "
            f"{schema['maxProperties']} items"
        )
