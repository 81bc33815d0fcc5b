"""The Kubernetes API of a sandbox GKE cluster (one per cluster, sandbox/kube/control_plane.py).

Like GKE's API server it takes a Google OAuth access token as the bearer credential
(the GKE auth plugin sends one:
https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication), and
answers errors as a `Status` object
(https://kubernetes.io/docs/reference/using-api/api-concepts/#status-object). It serves
discovery, server-side apply (PATCH with `application/apply-patch+yaml`; `fieldManager`
is required for it: https://kubernetes.io/docs/reference/using-api/server-side-apply/),
GET of an object or a collection, and DELETE. Other writes (POST, PUT, other patch
types) are not what Hangar sends and are refused with 405/415.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from sandbox.kube import custom_resources, faults, proxy
from sandbox.kube import resources as res
from sandbox.kube.store import KubeError, KubeStore
from sandbox.kube.validation import Invalid, Undeclared, check_rules, check_schema

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.control_plane import ControlPlane

GIT_VERSION = "v1.34.1-gke.1829001"
APPLY = "application/apply-patch+yaml"
MAX_BODY = 3 * 2**20  # etcd's request limit is about 1.5 MiB; anything near is refused

__all__ = ["KubeStore", "build_app"]


def status(code: int, reason: str, message: str, **details: Any) -> web.Response:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


def _authorized(request: web.Request, state: State) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and state.tokens.access_token_valid(token.strip())


def _discovery(path: str, plane: ControlPlane) -> dict[str, Any] | None:
    if path == "/version":
        return {"major": "1", "minor": "34", "gitVersion": GIT_VERSION, "platform": "linux/amd64"}
    kinds = plane.kube.kinds.values()
    if path == "/api":
        return res.api_versions(plane.endpoint)
    if path == "/apis":
        return res.api_groups(kinds)
    if path == "/api/v1":
        return res.resource_list("", "v1", kinds)
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "apis":
        return res.resource_list(parts[1], parts[2], kinds)
    return None


def _parse_apply_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY:
        raise KubeError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    try:
        body = yaml.safe_load(raw.decode("utf-8")) if raw.strip() else None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KubeError(400, "BadRequest", f"error decoding YAML: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise KubeError(400, "BadRequest", "Object 'Kind' is missing in the request body")
    return body


def _check_identity(target: res.Target, body: dict[str, Any]) -> None:
    kind = target.kind
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
    meta = body["metadata"]
    if meta.get("name") != target.name:
        raise KubeError(
            400,
            "BadRequest",
            f"the name of the object ({meta.get('name')}) does not match the name on the URL "
            f"({target.name})",
        )
    if "namespace" in meta and meta["namespace"] != (target.namespace or ""):
        raise KubeError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    if meta.get("managedFields"):
        raise KubeError(400, "BadRequest", "metadata.managedFields must be nil")


def _apply(request: web.Request, store: KubeStore, target: res.Target, raw: bytes) -> web.Response:
    if request.content_type != APPLY:
        raise KubeError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types "
            f"include: {APPLY}",
        )
    manager = request.query.get("fieldManager", "")
    if not manager:
        raise KubeError(
            422,
            "Invalid",
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
            "required for apply patch",
        )
    if len(manager) > 128:
        raise KubeError(422, "Invalid", "fieldManager: Too long: may not be more than 128 bytes")
    force = request.query.get("force", "false")
    if force not in ("true", "false"):
        raise KubeError(400, "BadRequest", f'invalid value for force: "{force}"')
    body = _parse_apply_body(raw)
    _check_identity(target, body)
    where = f"{target.namespace}/{target.name}" if target.namespace else target.name
    schema = store.schemas.get(target.kind)
    try:
        if schema is not None:
            _check_custom(target.kind, schema, body)
        else:
            check_schema(target.kind, body)
    except Undeclared as exc:
        raise KubeError(
            400,
            "BadRequest",
            f"failed to create typed patch object ({where}; {target.kind.api_version}, "
            f"Kind={target.kind.kind}): {exc}",
        ) from exc
    check_rules(target.kind, body)
    obj, created = store.apply(target.kind, target.namespace, body, manager, force == "true")
    return web.json_response(obj, status=201 if created else 200)


def _check_custom(kind: res.Kind, schema: dict[str, Any], body: dict[str, Any]) -> None:
    """A custom resource: its CRD's defaults, then its schema (sandbox/kube/custom_resources.py)."""
    custom_resources.apply_defaults(schema, body)
    problems = custom_resources.validate(schema, body)
    if problems.undeclared:
        raise Undeclared("; ".join(problems.undeclared))
    if problems.invalid:
        raise Invalid(kind, body["metadata"]["name"], problems.invalid)


async def _delete(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    if not target.name:
        raise KubeError(405, "MethodNotAllowed", "deleting a collection is not supported here")
    propagation = request.query.get("propagationPolicy", "")
    raw = await request.read()
    if raw.strip():
        try:
            options = json.loads(raw)
        except ValueError as exc:
            raise KubeError(400, "BadRequest", f"invalid DeleteOptions: {exc}") from exc
        if isinstance(options, dict):
            propagation = options.get("propagationPolicy", propagation)
    if propagation not in ("", "Foreground", "Background", "Orphan"):
        raise KubeError(400, "BadRequest", f'invalid propagationPolicy "{propagation}"')
    return web.json_response(store.delete(target.kind, target.namespace, target.name, propagation))


def _selector(text: str, what: str) -> list[tuple[str, str]]:
    """`a=b,c==d` as (key, value) pairs; set-based selectors are not what Hangar sends."""
    pairs = []
    for part in filter(None, text.split(",")):
        key, sep, value = part.replace("==", "=").partition("=")
        if not sep or not key or "!" in key:
            raise KubeError(400, "BadRequest", f'unable to parse requirement: "{part}" ({what})')
        pairs.append((key.strip(), value.strip()))
    return pairs


def _field(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _get(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    if target.name:
        return web.json_response(store.get(target.kind, target.namespace, target.name))
    kind = target.kind
    labels = _selector(request.query.get("labelSelector", ""), "labelSelector")
    fields = _selector(request.query.get("fieldSelector", ""), "fieldSelector")
    items = [
        obj
        for obj in store.list(kind, target.namespace)
        if all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in labels)
        and all(str(_field(obj, k)) == v for k, v in fields)
    ]
    return web.json_response(
        {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": ""},
            "items": items,
        }
    )


async def _serve(request: web.Request, state: State, plane: ControlPlane) -> web.StreamResponse:
    # Held, logged and faulted as Google's APIs are (sandbox/kube/faults.py).
    await faults.held(state, "delay_before", request)
    response = await _answer(request, state, plane)
    await faults.held(state, "delay_after", request)
    return response


async def _answer(request: web.Request, state: State, plane: ControlPlane) -> web.StreamResponse:
    store: KubeStore = plane.kube
    state.advance()
    store.settle()
    if not _authorized(request, state):
        return status(401, "Unauthorized", "Unauthorized")
    entry = faults.logged(state, request, await request.read())
    fault = faults.injected(state, request, entry)
    response: web.StreamResponse
    if fault is not None:
        response = faults.fault_response(fault, request, state.config.service_account)
    else:
        response = await _served(request, state, plane, store)
    if entry is not None:
        entry["status"] = response.status
    return response


async def _served(
    request: web.Request, state: State, plane: ControlPlane, store: KubeStore
) -> web.StreamResponse:
    if request.method == "GET":
        found = _discovery(request.path, plane)
        if found is not None:
            return web.json_response(found)
    try:
        proxied = await proxy.handle(request, state, store, plane.metrics)
    except KubeError as exc:
        return status(exc.code, exc.reason, exc.message, **exc.details)
    if proxied is not None:
        return proxied
    target = res.parse_path(request.path, store.kinds)
    if target is None or target.subresource:
        return status(404, "NotFound", "the server could not find the requested resource")
    try:
        if request.method == "GET":
            return _get(request, store, target)
        if request.method == "PATCH" and target.name:
            return _apply(request, store, target, await request.read())
        if request.method == "DELETE":
            return await _delete(request, store, target)
        raise KubeError(405, "MethodNotAllowed", f"{request.method} is not supported here")
    except KubeError as exc:
        return status(exc.code, exc.reason, exc.message, **exc.details)
    except Invalid as exc:
        causes = [{"reason": "FieldValueInvalid", "message": c} for c in exc.causes]
        return status(
            422,
            "Invalid",
            str(exc),
            name=exc.name,
            group=exc.kind.group,
            kind=exc.kind.kind,
            causes=causes,
        )


def build_app(state: State, plane: ControlPlane) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await _serve(request, state, plane)

    app = web.Application(client_max_size=MAX_BODY + 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
