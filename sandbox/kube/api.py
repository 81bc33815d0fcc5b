"""The Kubernetes API of a sandbox GKE cluster (one per cluster, sandbox/kube/control_plane.py).

Like GKE's API server it takes a Google OAuth access token as the bearer credential
(the GKE auth plugin sends one:
https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication), and
answers errors as a `Status` object
(https://kubernetes.io/docs/reference/using-api/api-concepts/#status-object). It serves
discovery, the OpenAPI v2 and v3 documents (sandbox/kube/openapi.py), server-side apply
(PATCH with `application/apply-patch+yaml`; `fieldManager` is required for it:
https://kubernetes.io/docs/reference/using-api/server-side-apply/), create (POST), update
(PUT) and the JSON, merge and strategic-merge patches (sandbox/kube/writes.py), GET of an
object or a collection (as a Table for `kubectl get`: sandbox/kube/tables.py), watch
(sandbox/kube/watch.py), DELETE with the propagation policies (garbage collection:
sandbox/kube/store.py), a Deployment's `scale` subresource and a pod's `log`
(sandbox/kube/logs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.kube import custom_resources, faults, logs, openapi, proxy, tables, watch, writes
from sandbox.kube import resources as res
from sandbox.kube.store import KubeError, KubeStore
from sandbox.kube.validation import Invalid, Undeclared, check_rules, check_schema

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.kube.control_plane import ControlPlane

GIT_VERSION = "v1.34.1-gke.1829001"
APPLY = "application/apply-patch+yaml"

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
    body = writes.read_json(raw)  # YAML (JSON is YAML too)
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise KubeError(400, "BadRequest", "Object 'Kind' is missing in the request body")
    return body


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
    manager = writes.manager_of(request)  # its length checked
    force = request.query.get("force", "false")
    if force not in ("true", "false"):
        raise KubeError(400, "BadRequest", f'invalid value for force: "{force}"')
    body = writes.check_identity(target, _parse_apply_body(raw))
    if body["metadata"].get("managedFields"):
        raise KubeError(400, "BadRequest", "metadata.managedFields must be nil")
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
    options = writes.read_json(raw)
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


def _matcher(request: web.Request, target: res.Target) -> Callable[[dict[str, Any]], bool]:
    labels = _selector(request.query.get("labelSelector", ""), "labelSelector")
    fields = _selector(request.query.get("fieldSelector", ""), "fieldSelector")

    def matches(obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return (
            (target.namespace is None or meta.get("namespace") == target.namespace)
            and (not target.name or meta["name"] == target.name)
            and all((meta.get("labels") or {}).get(k) == v for k, v in labels)
            and all(str(_field(obj, k)) == v for k, v in fields)
        )

    return matches


def _matching(request: web.Request, store: KubeStore, target: res.Target) -> list[dict[str, Any]]:
    matches = _matcher(request, target)
    return [obj for obj in store.list(target.kind, target.namespace) if matches(obj)]


def _get(request: web.Request, store: KubeStore, target: res.Target) -> web.Response:
    kind = target.kind
    as_table = tables.accepts_table(request.headers.get("Accept", ""))
    include = request.query.get("includeObject", "Metadata")
    if target.name:
        obj = store.get(kind, target.namespace, target.name)
        if as_table:
            version = obj["metadata"].get("resourceVersion", "")
            return web.json_response(tables.table(store, kind, [obj], version, include))
        return web.json_response(obj)
    watch.start_journal(store)  # a watch from this list's resourceVersion may follow
    items = _matching(request, store, target)
    version = store.current_version()
    if as_table:
        return web.json_response(tables.table(store, kind, items, version, include))
    return web.json_response(
        {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }
    )


async def _watch(
    request: web.Request, state: State, store: KubeStore, target: res.Target
) -> web.StreamResponse:
    as_table = tables.accepts_table(request.headers.get("Accept", ""))
    include = request.query.get("includeObject", "Metadata")
    kind = target.kind

    def render(obj: dict[str, Any]) -> dict[str, Any]:
        if not as_table:
            return obj
        version = obj["metadata"].get("resourceVersion", "")
        return tables.table(store, kind, [obj], version, include)

    def tick() -> None:
        state.advance()
        store.settle()

    head = {"kind": kind.kind, "apiVersion": kind.api_version}
    kind_key = (kind.group, kind.plural)
    matches = _matcher(request, target)
    return await watch.stream(request, store, head, kind_key, matches, render, tick)


def _openapi(request: web.Request, store: KubeStore) -> web.Response:
    """/openapi/v2 (JSON; the protobuf form is not served) and /openapi/v3[/GROUP-VERSION]."""
    path = request.path.rstrip("/")
    if path == "/openapi/v2":
        accept = request.headers.get("Accept", "")
        if accept and not any(
            t.split(";")[0].strip() in ("application/json", "*/*", "application/*")
            for t in accept.split(",")
        ):
            # What the API server answers an Accept it has no serializer for.
            return status(
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json",
            )
        return web.json_response(openapi.v2(store))
    if path == "/openapi/v3":
        return web.json_response(openapi.v3_index(store))
    document = openapi.v3_document(store, path[len("/openapi/v3/") :])
    if document is None:
        return status(404, "NotFound", "the server could not find the requested resource")
    headers = {}
    if "hash" in request.query:  # the index's URLs name the content: cacheable for good
        headers["Cache-Control"] = "public, immutable"
        headers["Etag"] = f'"{openapi.digest(document)}"'
    return web.json_response(document, headers=headers)


SCALE = {"kind": "Scale", "apiVersion": "autoscaling/v1"}


def _scale_of(deployment: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale of a Deployment
    (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#read-scale-read-scale-of-the-specified-deployment)."""
    meta = deployment["metadata"]
    selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        **SCALE,
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int((deployment.get("spec") or {}).get("replicas", 1))},
        "status": {
            "replicas": int((deployment.get("status") or {}).get("replicas", 0)),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


async def _subresource(
    request: web.Request, store: KubeStore, target: res.Target
) -> web.StreamResponse:
    kind, sub = target.kind, target.subresource
    if kind.kind == "Pod" and sub == "log" and request.method == "GET":
        pod = store.get(kind, target.namespace, target.name or "")
        return await logs.serve(request, store, pod)
    if kind.kind != "Deployment" or sub != "scale":
        return status(404, "NotFound", "the server could not find the requested resource")
    deployment = store.get(kind, target.namespace, target.name or "")
    current = _scale_of(deployment)
    if request.method == "GET":
        return web.json_response(current)
    raw = await request.read()
    if request.method == "PUT":
        wanted = writes.read_json(raw)
    elif request.method == "PATCH" and request.content_type in writes.PATCHABLE:
        scale_kind = res.Kind("autoscaling", "v1", "scale", "Scale", True)
        wanted = writes.patched(store, scale_kind, current, request.content_type, raw)
    else:
        raise KubeError(405, "MethodNotAllowed", f"{request.method} is not supported here")
    replicas = ((wanted or {}).get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise KubeError(
            422,
            "Invalid",
            f'Scale.autoscaling "{target.name}" is invalid: spec.replicas: Invalid value: '
            f"{replicas}: must be greater than or equal to 0",
        )
    body = {**deployment, "spec": {**deployment["spec"], "replicas": replicas}}
    body["metadata"] = {k: v for k, v in deployment["metadata"].items() if k != "managedFields"}
    sent = ((wanted or {}).get("metadata") or {}).get("resourceVersion")
    if sent:
        body["metadata"]["resourceVersion"] = sent
    updated = store.update(kind, target.namespace, body, writes.manager_of(request))
    return web.json_response(_scale_of(updated))


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
    watch.record(store)  # what this request changed, for the watches
    return response


async def _served(
    request: web.Request, state: State, plane: ControlPlane, store: KubeStore
) -> web.StreamResponse:
    if request.method == "GET":
        if request.path.startswith("/openapi/"):
            return _openapi(request, store)
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
    if target is None:
        return status(404, "NotFound", "the server could not find the requested resource")
    try:
        return await _verb(request, state, store, target)
    except KubeError as exc:
        return status(exc.code, exc.reason, exc.message, **exc.details)
    except Invalid as exc:
        # A cause names its field apart, as kubectl prints it ("field: message").
        causes = [
            {"reason": "FieldValueInvalid", "message": m, "field": f}
            for f, _, m in (c.partition(": ") for c in exc.causes)
        ]
        return status(
            422,
            "Invalid",
            str(exc),
            name=exc.name,
            group=exc.kind.group,
            kind=exc.kind.kind,
            causes=causes,
        )


async def _verb(
    request: web.Request, state: State, store: KubeStore, target: res.Target
) -> web.StreamResponse:
    method = request.method
    if target.kind.namespaced and target.namespace is None:
        # Across namespaces a namespaced kind's collection is only listed and watched
        # (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris):
        # no object is addressed, nor written, without its namespace.
        if target.name:
            return status(404, "NotFound", "the server could not find the requested resource")
        if method != "GET":
            raise KubeError(405, "MethodNotAllowed", f"{method} is not supported here")
    if target.subresource:
        return await _subresource(request, store, target)
    if method == "GET" and watch.wanted(request):
        return await _watch(request, state, store, target)
    if method == "GET":
        return _get(request, store, target)
    if method == "POST" and not target.name:
        return await writes.create(request, store, target)
    if method == "PUT" and target.name:
        return await writes.update(request, store, target)
    if method == "PATCH" and target.name:
        if request.content_type == APPLY:
            return _apply(request, store, target, await request.read())
        if request.content_type in writes.PATCHABLE:
            return await writes.patch(request, store, target)
        raise KubeError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml, application/strategic-merge-patch+json",
        )
    if method == "DELETE":
        return await _delete(request, store, target)
    raise KubeError(405, "MethodNotAllowed", f"{method} is not supported here")


def build_app(state: State, plane: ControlPlane) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await _serve(request, state, plane)

    app = web.Application(client_max_size=writes.MAX_BODY + 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
