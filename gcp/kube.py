"""A GKE cluster's Kubernetes API, on the official `kubernetes` client.

One DynamicClient per cluster does everything (built-in kinds and custom resources alike):
server-side apply under one fixed field manager, reads, deletes. It authenticates the way
the GKE auth plugin (gke-gcloud-auth-plugin) does: a Google OAuth access token from
google-auth as the bearer token, refreshed before it expires; and it trusts the cluster's
own CA, read from container_v1 get_cluster
(https://cloud.google.com/kubernetes-engine/docs/how-to/api-server-authentication).

Kubernetes refusals come out as google.api_core exceptions of the same HTTP status, with
the API server's Status message, so the runner's diagnosis (retry a 429/5xx, name the
role on a 403, stop on the rest) covers them as it covers Google's own APIs.
"""

import base64
import contextlib
import json
import re
from functools import cache
from typing import Any

import google.auth.transport.requests
import urllib3
from google.api_core import exceptions as gexc
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic import exceptions as kexc

from gcp.clients import call_timeout, credentials
from gcp.kube_conn import ClusterConn

# Every object Hangar applies is owned, field by field, by this manager: a second apply
# with the same manager replaces Hangar's own fields, never somebody else's.
FIELD_MANAGER = "hangar"


def _refresh(configuration: k8s.Configuration) -> None:
    creds = credentials()
    # `valid` turns False a few minutes before expiry (google-auth's refresh threshold),
    # so one token serves many calls and is renewed before the API server would refuse it.
    if not creds.valid:
        creds.refresh(google.auth.transport.requests.Request())
    configuration.api_key["BearerToken"] = creds.token


def configuration(conn: ClusterConn) -> k8s.Configuration:
    cfg = k8s.Configuration(
        host=f"https://{conn.endpoint}",
        ca_cert_data=base64.b64decode(conn.ca_certificate).decode(),
    )
    # The key must exist for auth_settings() to ask the hook, which fills it per request.
    cfg.api_key = {"BearerToken": ""}
    cfg.api_key_prefix = {"BearerToken": "Bearer"}
    cfg.refresh_api_key_hook = _refresh  # type: ignore[assignment]  # typed as None upstream
    # The runner retries between tasks; no retry inside a call.
    cfg.retries = urllib3.Retry(total=0, redirect=False)
    return cfg


@cache
def dynamic_client(conn: ClusterConn) -> DynamicClient:
    return DynamicClient(k8s.ApiClient(configuration(conn)))


def _as_google_error(exc: kexc.DynamicApiError, call: str = "") -> gexc.GoogleAPICallError:
    message = exc.reason or ""
    status: dict[str, Any] = {}
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        status = dict(json.loads(exc.body or "{}"))
        message = status.get("message") or message
    error = gexc.from_http_status(int(exc.status or 500), f"Kubernetes API: {message}")
    # The Status object (https://kubernetes.io/docs/reference/using-api/api-concepts/#status-object):
    # its details name the resource a 403 refused (gcp/errors.py kube_permission_hint).
    error.kube_status = status  # type: ignore[attr-defined]
    # Which call it answered: the runner counts retries per call.
    error.failed_call = call  # type: ignore[attr-defined]
    return error


def _call_name(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """'delete apps/v1 Deployment ns/name': one call of the dynamic client, told apart from
    the others a step makes."""
    resource = args[0] if args else None
    kind = f"{getattr(resource, 'group_version', '')} {getattr(resource, 'kind', '')}".strip()
    body = kwargs.get("body") or {}
    name = kwargs.get("name") or (body.get("metadata") or {}).get("name") or ""
    namespace = kwargs.get("namespace") or ""
    where = f"{namespace}/{name}" if namespace else str(name)
    return f"{getattr(fn, '__name__', 'call')} {kind} {where}".strip()


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, _request_timeout=call_timeout(), **kwargs)
    except kexc.DynamicApiError as exc:
        raise _as_google_error(exc, _call_name(fn, args, kwargs)) from exc
    except urllib3.exceptions.HTTPError as exc:
        lost = ConnectionError(f"Could not reach the cluster's API server: {exc}")
        lost.failed_call = _call_name(fn, args, kwargs)  # type: ignore[attr-defined]
        raise lost from exc


def _resource(conn: ClusterConn, api_version: str, kind: str) -> Any:
    try:
        return dynamic_client(conn).resources.get(api_version=api_version, kind=kind)
    except kexc.ResourceNotFoundError as exc:
        # Discovery has no such kind in that group/version (a CRD not installed, or a
        # version it does not serve): what kubectl reports as "no matches for kind".
        raise gexc.NotFound(
            f'Kubernetes API: no matches for kind "{kind}" in version "{api_version}" '
            "(is its CustomResourceDefinition installed?)"
        ) from exc
    except kexc.DynamicApiError as exc:
        raise _as_google_error(exc) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ConnectionError(f"Could not reach the cluster's API server: {exc}") from exc


def apply(conn: ClusterConn, manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply `manifest`; the object as the API server now holds it.

    force_conflicts: Hangar owns every object it applies, so a field someone changed by
    hand is taken back rather than left to make the apply fail. Unknown fields are an
    error (fieldValidation=Strict), not silently dropped.
    """
    dc = dynamic_client(conn)
    resource = _resource(conn, manifest["apiVersion"], manifest["kind"])
    applied = _call(
        dc.server_side_apply,
        resource,
        body=manifest,
        namespace=manifest["metadata"].get("namespace"),
        field_manager=FIELD_MANAGER,
        force_conflicts=True,
        query_params=[("fieldValidation", "Strict")],
    )
    return dict(applied.to_dict())


def read(
    conn: ClusterConn, api_version: str, kind: str, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """The object, or None if there is none."""
    resource = _resource(conn, api_version, kind)
    try:
        found = _call(dynamic_client(conn).get, resource, name=name, namespace=namespace)
    except gexc.NotFound:
        return None
    return dict(found.to_dict())


def delete(
    conn: ClusterConn, api_version: str, kind: str, name: str, namespace: str | None = None
) -> bool:
    """Ask for the object's deletion (foreground: its dependents go first); False if it was
    already gone. Deletion takes time (finalizers): read() says when it is over."""
    resource = _resource(conn, api_version, kind)
    try:
        _call(
            dynamic_client(conn).delete,
            resource,
            name=name,
            namespace=namespace,
            propagation_policy="Foreground",
        )
    except gexc.NotFound:
        return False
    return True


def list_objects(
    conn: ClusterConn,
    api_version: str,
    kind: str,
    namespace: str | None = None,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
) -> list[dict[str, Any]]:
    """The objects of a kind (in a namespace), e.g. a pod's events:
    field_selector="involvedObject.name=POD"."""
    resource = _resource(conn, api_version, kind)
    found = _call(
        dynamic_client(conn).get,
        resource,
        namespace=namespace,
        label_selector=label_selector,
        field_selector=field_selector,
    )
    return [dict(item) for item in found.to_dict().get("items", [])]


def proxy_path(namespace: str, service: str, port: int | str, path: str) -> str:
    """The API server's proxy to a Service: how Hangar reaches a model server that has no
    load balancer (https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/)."""
    return f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{path}"


_PROXY_PATH = re.compile(r"^(/api/v1/namespaces/[^/]+/services/[^/]+/proxy)(?:/.*)?$")


def proxy_base(conn: ClusterConn, path: str) -> str:
    """The service proxy's base URL for a request path from proxy_path: where a client
    that knows only the Service's address (the playground) sends its own paths."""
    found = _PROXY_PATH.match(path)
    if found is None:
        raise ValueError(f"Not a service proxy path: {path[:200]!r}")
    return f"https://{conn.endpoint}{found[1]}"


def proxy(
    conn: ClusterConn,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
) -> urllib3.BaseHTTPResponse:
    """Send a request through the API server's service proxy (`path` from proxy_path) with
    the portal's Google credentials; the response is not read, so a stream can be."""
    api = dynamic_client(conn).client
    cfg = api.configuration
    headers = {"Accept": "*/*", "Authorization": cfg.get_api_key_with_prefix("BearerToken")}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = api.rest_client.request(
            method,
            f"{cfg.host}{path}",
            headers=headers,
            body=body,
            _request_timeout=timeout or call_timeout(),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise ConnectionError(f"Could not reach the cluster's API server: {exc}") from exc
    return response.response
