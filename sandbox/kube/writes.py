"""Create (POST), update (PUT) and the JSON, merge and strategic-merge patches, as the API
server takes them from kubectl's client-side apply, `create`, `annotate`, `label`, `scale`
(https://kubernetes.io/docs/reference/using-api/api-concepts/#api-verbs).

Field validation (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
`fieldValidation=Strict` (what kubectl sends by default) refuses a field the schema does
not declare with 400 BadRequest and the decoder's words ("strict decoding error: unknown
field "spec.foo""); `Warn`, the server's default, drops it and says so in a `Warning`
header; `Ignore` drops it silently. Then the same rules as an apply (names, selectors,
pod rules: sandbox/kube/validation.py), 422 Invalid.
"""

from __future__ import annotations

import json
import random
import re
import string
from typing import Any

import yaml
from aiohttp import web

from sandbox.kube import custom_resources, openapi, patches, protobuf
from sandbox.kube import resources as res
from sandbox.kube.store import KubeError, KubeStore
from sandbox.kube.validation import Invalid, Undeclared, check_rules, check_schema

MAX_BODY = 3 * 2**20  # etcd's request limit is about 1.5 MiB; anything near is refused
VALIDATIONS = ("Strict", "Warn", "Ignore")
UNDECLARED = re.compile(r"^(\S*): field not declared in schema$")


def manager_of(request: web.Request) -> str:
    """fieldManager, or as the API server derives it: the user agent's program name."""
    manager = request.query.get("fieldManager", "")
    if not manager:
        manager = request.headers.get("User-Agent", "unknown").split("/", 1)[0]
    if len(manager) > 128:
        raise KubeError(422, "Invalid", "fieldManager: Too long: may not be more than 128 bytes")
    return manager


def _validation(request: web.Request) -> str:
    wanted = request.query.get("fieldValidation", "Warn")
    if wanted not in VALIDATIONS:
        raise KubeError(
            400,
            "BadRequest",
            f'fieldValidation: Unsupported value: "{wanted}": supported values: '
            '"Ignore", "Strict", "Warn"',
        )
    return wanted


def read_json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        raise KubeError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        pass
    except RecursionError:
        # Go's decoder stops at a depth of 10000 with an error, not a crash.
        raise KubeError(400, "BadRequest", "error decoding body: exceeded max depth") from None
    try:  # the API server also takes YAML on a POST/PUT (application/yaml)
        return yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KubeError(400, "BadRequest", f"error decoding body: {exc}") from exc
    except RecursionError:
        raise KubeError(400, "BadRequest", "error decoding body: exceeded max depth") from None


def _steps(path: str) -> list[str | int]:
    return [
        int(index) if index else name for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path)
    ]


def _drop(obj: dict[str, Any], path: str) -> None:
    steps = _steps(path)
    node: Any = obj
    for step in steps[:-1]:
        node = node[step]
    if steps:
        del node[steps[-1]]


def _undeclared(store: KubeStore, kind: res.Kind, body: dict[str, Any]) -> list[str]:
    """The paths (".spec.foo") of the fields the kind's schema does not declare."""
    schema = store.schemas.get(kind)
    if schema is not None:
        problems = custom_resources.validate(schema, body)
        return [m.group(1) for m in map(UNDECLARED.match, problems.undeclared) if m]
    try:
        check_schema(kind, body)
    except Undeclared as exc:
        m = UNDECLARED.match(str(exc))
        if m is None:
            raise
        return [m.group(1)]
    return []


def _decoded(store: KubeStore, kind: res.Kind, body: dict[str, Any], validation: str) -> list[str]:
    """Apply field validation to `body` in place; the warnings to send."""
    warnings: list[str] = []
    for _ in range(200):  # the built-in schemas name one unknown field at a time
        try:
            unknown = _undeclared(store, kind, body)
        except Undeclared as exc:  # a value of the wrong type: the JSON decoder refuses it
            raise KubeError(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"{exc}",
            ) from exc
        if not unknown:
            break
        fields = [u.lstrip(".") for u in unknown]
        if validation == "Strict":
            listed = ", ".join(f'unknown field "{f}"' for f in fields)
            raise KubeError(
                400,
                "BadRequest",
                f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: '
                f"strict decoding error: {listed}",
            )
        warnings += [f'unknown field "{f}"' for f in fields]
        for path in unknown:
            _drop(body, path)
    schema = store.schemas.get(kind)
    if schema is not None:
        custom_resources.apply_defaults(schema, body)
        problems = custom_resources.validate(schema, body)
        if problems.invalid:
            raise Invalid(kind, body["metadata"]["name"], problems.invalid)
    return warnings if validation == "Warn" else []


def check_identity(target: res.Target, body: Any) -> dict[str, Any]:
    """`body` as an object whose apiVersion, kind, namespace and (on an object's URL) name
    are the URL's, as every write checks them (create, update, patch, apply); 400 BadRequest
    otherwise."""
    kind = target.kind
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        raise KubeError(400, "BadRequest", "Object 'Kind' is missing in the request body")
    meta = body.setdefault("metadata", {})
    if body.get("apiVersion") != kind.api_version:
        raise KubeError(
            400,
            "BadRequest",
            f"the API version in the data ({body.get('apiVersion')}) does not match the "
            f"expected API version ({kind.api_version})",
        )
    if body.get("kind") != kind.kind:
        raise KubeError(
            400,
            "BadRequest",
            f"the kind in the data ({body.get('kind')}) does not match the expected kind "
            f"({kind.kind})",
        )
    if target.name and meta.get("name") != target.name:
        raise KubeError(
            400,
            "BadRequest",
            f"the name of the object ({meta.get('name')}) does not match the name on the URL "
            f"({target.name})",
        )
    # An empty namespace takes the URL's, a cluster-scoped kind's is cleared, only two
    # different ones are refused (EnsureObjectNamespaceMatchesRequestNamespace and
    # checkName in k8s.io/apiserver: staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go,
    # pkg/endpoints/handlers/rest.go).
    namespace = meta.get("namespace") or ""
    if not kind.namespaced:
        meta.pop("namespace", None)
    elif namespace and namespace != (target.namespace or ""):
        raise KubeError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    return body


def _reply(obj: dict[str, Any], code: int, warnings: list[str]) -> web.Response:
    response = web.json_response(obj, status=code)
    for warning in warnings:
        # RFC 7234 warn-text: a quoted-string, its quotes escaped.
        quoted = warning.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{quoted}"')
    return response


def _checked(
    store: KubeStore, target: res.Target, body: dict[str, Any], request: web.Request
) -> list[str]:
    warnings = _decoded(store, target.kind, body, _validation(request))
    check_rules(target.kind, body)
    return warnings


def _dry_run(request: web.Request) -> bool:
    value = request.query.get("dryRun", "")
    if value not in ("", "All"):
        raise KubeError(400, "BadRequest", f'dryRun: Unsupported value: "{value}"')
    return value == "All"


async def _body(request: web.Request) -> Any:
    """JSON or YAML, or the protobuf kubectl's generators send (sandbox/kube/protobuf.py)."""
    raw = await request.read()
    if request.content_type == protobuf.MEDIA_TYPE:
        try:
            return protobuf.decode(raw)
        except protobuf.Undecodable as exc:
            raise KubeError(
                415,
                "UnsupportedMediaType",
                f"the sandbox cannot decode this protobuf body ({exc}); send application/json",
            ) from exc
    if request.content_type not in ("application/json", "application/yaml", ""):
        raise KubeError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types "
            "include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    return read_json(raw)


async def create(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    body = check_identity(target, await _body(request))
    meta = body["metadata"]
    if not meta.get("name") and meta.get("generateName"):
        # https://kubernetes.io/docs/reference/using-api/api-concepts/#generated-values
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))  # noqa: S311
        meta["name"] = f"{meta['generateName']}{suffix}"
    if not meta.get("name"):
        required = "metadata.name: Required value: name or generateName is required"
        raise Invalid(target.kind, "", [required])
    if meta.get("resourceVersion"):
        raise KubeError(
            500, "InternalError", "resourceVersion should not be set on objects to be created"
        )
    meta.pop("managedFields", None)
    warnings = _checked(store, target, body, request)
    manager = manager_of(request)
    if _dry_run(request):
        return _reply(body, 201, warnings)
    created = store.create(target.kind, target.namespace, body, manager)
    return _reply(created, 201, warnings)


async def update(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    body = check_identity(target, await _body(request))
    store.get(target.kind, target.namespace, target.name or "")  # 404 before validation
    warnings = _checked(store, target, body, request)
    manager = manager_of(request)
    if _dry_run(request):
        return _reply(body, 200, warnings)
    return _reply(store.update(target.kind, target.namespace, body, manager), 200, warnings)


def patched(
    store: KubeStore, kind: res.Kind, current: dict[str, Any], content_type: str, raw: bytes
) -> dict[str, Any]:
    """`current` with the patch applied (not yet validated nor stored)."""
    document = read_json(raw)
    try:
        if content_type == patches.JSON_PATCH:
            result = patches.json_patch(current, document)
        elif content_type == patches.MERGE_PATCH:
            result = patches.merge_patch(current, document)
        else:
            name = openapi.definition_name(kind)
            if name is None:
                raise KubeError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml",
                )
            defs = openapi.definitions()
            result = patches.strategic_merge(current, document, defs[name], patches.Schemas(defs))
    except patches.PatchError as exc:
        raise KubeError(422, "Invalid", str(exc)) from exc
    if not isinstance(result, dict):
        raise KubeError(422, "Invalid", "the patch does not result in an object")
    return result


PATCHABLE = (patches.JSON_PATCH, patches.MERGE_PATCH, patches.STRATEGIC)


async def patch(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    current = store.get(target.kind, target.namespace, target.name or "")
    result = patched(store, target.kind, current, request.content_type, await request.read())
    for fixed in ("apiVersion", "kind"):
        result[fixed] = current[fixed]
    meta = check_identity(target, result)["metadata"]
    meta.pop("managedFields", None)
    warnings = _checked(store, target, result, request)
    manager = manager_of(request)
    if _dry_run(request):
        return _reply(result, 200, warnings)
    return _reply(store.update(target.kind, target.namespace, result, manager), 200, warnings)
