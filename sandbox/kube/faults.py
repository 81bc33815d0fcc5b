"""Faults and the request log on a sandbox cluster's Kubernetes API, as on Google's APIs.

A test switches faults on under `/_sandbox/faults` as for any Google call (sandbox/core/faults.py);
a fault whose method and path match a Kubernetes request answers it the way GKE's API
server answers that status, as a `Status` object
(https://kubernetes.io/docs/reference/using-api/api-concepts/#status-object):
- 429 TooManyRequests with Retry-After, what API Priority and Fairness sends when it
  sheds load (https://kubernetes.io/docs/concepts/cluster-administration/flow-control/);
- 403 Forbidden naming the GKE IAM permission the verb needs, as GKE's authorizer words
  it ("requires one of [\"container.deployments.update\"] permission(s)",
  https://cloud.google.com/kubernetes-engine/docs/how-to/iam#interaction_with_rbac);
- 500 InternalError, 503 ServiceUnavailable, 504 Timeout, 409 Conflict and the rest by
  their Kubernetes reason.
Delay faults hold the request before or after the API server acts on it. Discovery is
neither logged nor faulted: clients cache it, so a test could not count on meeting it.

A Secret's values are logged as `<redacted>`, as a Secret Manager payload is
(sandbox/core/requestlog.py): its `data` (base64 of each value) and `stringData` (the plain,
write-only form merged into `data`), https://kubernetes.io/docs/concepts/configuration/secret/
and https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/.
The keys stay, so a test still sees which were written. The API server itself holds and
returns the values; replies are not logged.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.core.faults import Fault
from sandbox.core.requestlog import REDACTED
from sandbox.kube import writes
from sandbox.kube.store import KubeError

if TYPE_CHECKING:
    from sandbox.core.state import State

# A request's verb as RBAC and GKE's IAM name it.
_VERBS = {"GET": "get", "PATCH": "update", "PUT": "update", "POST": "create", "DELETE": "delete"}
# ...and as RBAC names it (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb).
_RBAC_VERBS = {
    "GET": "get",
    "PATCH": "patch",
    "PUT": "update",
    "POST": "create",
    "DELETE": "delete",
}
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
# google.rpc names a fault may be given in, as the HTTP status Kubernetes answers with.
_BY_NAME = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "FAILED_PRECONDITION": 400,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def is_discovery(path: str) -> bool:
    """/api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION, /version, /openapi/..."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] in ("version", "openapi"):
        return True
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)


def _resource(path: str) -> str:
    """`deployments` of /apis/apps/v1/namespaces/ns/deployments/x; `services` of a proxy."""
    parts = [p for p in path.split("/") if p]
    if "namespaces" in parts and len(parts) > parts.index("namespaces") + 2:
        return parts[parts.index("namespaces") + 2]
    return parts[-2] if len(parts) >= 2 else "resources"


def _where(path: str) -> tuple[str, str, str]:
    """The API group, namespace and object name a request path names ("" where none)."""
    parts = [p for p in path.split("/") if p]
    group = parts[1] if parts[:1] == ["apis"] and len(parts) > 1 else ""
    namespace, name = "", ""
    if "namespaces" in parts:
        at = parts.index("namespaces")
        namespace = parts[at + 1] if len(parts) > at + 1 else ""
        name = parts[at + 3] if len(parts) > at + 3 else ""
    return group, namespace, name


def _forbidden(request: web.Request, user: str) -> tuple[str, dict[str, str]]:
    """GKE's 403, worded as Kubernetes' authorizer words it ('cannot VERB resource "R" in
    API group "G" in the namespace "NS"', kubernetes/apiserver's forbidden message) with the
    IAM permission GKE adds, and the Status details naming the object: name, group and
    kind (the resource) (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/)."""
    path = request.path
    resource = _resource(path)
    group, namespace, name = _where(path)
    proxy = "/proxy" in path and resource == "services"
    verb = "proxy" if proxy else _VERBS.get(request.method, request.method.lower())
    permission = f"container.{resource}.{verb}"
    # RBAC's own verb: a PATCH (server-side apply too) is "patch", a GET of a collection "list".
    rbac = "proxy" if proxy else _RBAC_VERBS.get(request.method, request.method.lower())
    if rbac == "get" and not name:
        rbac = "list"
    where = f' in the namespace "{namespace}"' if namespace else ""
    named = (
        f'{resource}.{group} "{name}"'
        if group and name
        else (f'{resource} "{name}"' if name else resource)
    )
    message = (
        f'{named} is forbidden: User "{user}" cannot {rbac} resource "{resource}" in API '
        f'group "{group}"{where}: requires one of ["{permission}"] permission(s).'
    )
    return message, {"name": name, "group": group, "kind": resource}


def fault_response(fault: Fault, request: web.Request, user: str) -> web.Response:
    from sandbox.kube.api import status

    code = _BY_NAME.get(fault.status, 500)
    reason = _REASONS.get(code, "InternalError")
    details: dict[str, str] = {}
    if code == 403:
        message, details = _forbidden(request, user)
        message = fault.message or message
    elif code == 429:
        message = fault.message or (
            "the server has received too many requests and has asked us to try again later"
        )
    else:
        message = fault.message or f"Injected {reason} fault."
    response = status(code, reason, message, **details)
    if code == 429:
        response.headers["Retry-After"] = "1"
    return response


async def held(state: State, kind: str, request: web.Request) -> None:
    if is_discovery(request.path):
        return
    fault = state.faults.take(kind, request.method, request.path)
    if fault is not None:
        await asyncio.sleep(fault.seconds)


def logged(state: State, request: web.Request, body: bytes) -> dict[str, Any] | None:
    """The request's log entry (kind "kube"), or None for discovery."""
    if is_discovery(request.path):
        return None
    return state.log.start(request, _loggable(request.path, body), "kube")


_SECRET_FIELDS = ("data", "stringData")


def _is_secrets_path(path: str) -> bool:
    """/api/v1/secrets, /api/v1/namespaces/NS/secrets[/NAME[/...]]: the core group's Secrets."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] != ["api", "v1"] or len(parts) < 3:
        return False
    if parts[2] == "namespaces":
        return len(parts) > 4 and parts[4] == "secrets"
    return parts[2] == "secrets"


def _hidden(values: Any) -> Any:
    """`{key: <redacted>}` for a map of values, `<redacted>` for anything else."""
    if isinstance(values, dict):
        return {key: REDACTED for key in values}
    return REDACTED


# kubectl's client-side apply copies the whole manifest, a Secret's values included, into
# this annotation of the object it sends (POST) and patches (PATCH).
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _redact_last_applied(body: dict[str, Any]) -> None:
    annotations = (body.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
        annotations[_LAST_APPLIED] = REDACTED


def _redact_secrets(body: Any) -> bool:
    """Redacts, in place, every object of kind Secret in `body` (a List's items too)."""
    found = False
    if isinstance(body, dict):
        if body.get("kind") == "Secret":
            for key in _SECRET_FIELDS:
                if key in body:
                    body[key] = _hidden(body[key])
            _redact_last_applied(body)
            found = True
        for value in body.values():
            found = _redact_secrets(value) or found
    elif isinstance(body, list):
        for value in body:
            found = _redact_secrets(value) or found
    return found


def _redact_secret_patch(body: Any) -> None:
    """A write to a Secret's path that names no kind: a merge, strategic-merge or apply
    body ({"data": ...}), or a JSON patch ([{"op", "path": "/data/KEY", "value"}])."""
    if isinstance(body, dict):
        for key in _SECRET_FIELDS:
            if key in body:
                body[key] = _hidden(body[key])
        _redact_last_applied(body)
    elif isinstance(body, list):
        for op in body:
            if not isinstance(op, dict) or "value" not in op:
                continue
            target = str(op.get("path", ""))
            if target.startswith(("/data", "/stringData", "/metadata/annotations")):
                op["value"] = _hidden(op["value"])
            elif target in ("", "/"):
                _redact_secret_patch(op["value"])


def _loggable(path: str, raw: bytes) -> bytes:
    """The body as the log may keep it: unchanged unless it carries a Secret's values."""
    if not raw.strip():
        return raw
    secrets_path = _is_secrets_path(path)
    try:
        body = writes.read_json(raw)  # as the API server will read it
    except KubeError:
        # Unreadable, so nothing in it can be checked: kept only off a Secret's path.
        return json.dumps({"unparsed": REDACTED}).encode() if secrets_path else raw
    found = _redact_secrets(body)
    if secrets_path:
        _redact_secret_patch(body)
    if not (found or secrets_path):
        return raw
    return json.dumps(body, default=str).encode()


def injected(state: State, request: web.Request, entry: dict[str, Any] | None) -> Fault | None:
    if entry is None:
        return None
    fault = state.faults.take("error", request.method, request.path)
    if fault is not None:
        entry["fault"] = fault.describe()
    return fault
