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
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.core.faults import Fault

if TYPE_CHECKING:
    from sandbox.core.state import State

# A request's verb as RBAC and GKE's IAM name it.
_VERBS = {"GET": "get", "PATCH": "update", "PUT": "update", "POST": "create", "DELETE": "delete"}
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


def _forbidden_message(request: web.Request, user: str) -> str:
    path = request.path
    resource = _resource(path)
    proxy = "/proxy" in path and resource == "services"
    verb = "proxy" if proxy else _VERBS.get(request.method, request.method.lower())
    permission = f"container.{resource}.{verb}"
    return (
        f'{resource} is forbidden: User "{user}" cannot {request.method.lower()} resource '
        f'"{resource}": requires one of ["{permission}"] permission(s).'
    )


def fault_response(fault: Fault, request: web.Request, user: str) -> web.Response:
    from sandbox.kube.api import status

    code = _BY_NAME.get(fault.status, 500)
    reason = _REASONS.get(code, "InternalError")
    if code == 403:
        message = fault.message or _forbidden_message(request, user)
    elif code == 429:
        message = fault.message or (
            "the server has received too many requests and has asked us to try again later"
        )
    else:
        message = fault.message or f"Injected {reason} fault."
    response = status(code, reason, message)
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
    return state.log.start(request, body, "kube")


def injected(state: State, request: web.Request, entry: dict[str, Any] | None) -> Fault | None:
    if entry is None:
        return None
    fault = state.faults.take("error", request.method, request.path)
    if fault is not None:
        entry["fault"] = fault.describe()
    return fault
