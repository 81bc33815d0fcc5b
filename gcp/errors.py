"""What a Google API error means for a rollout: retry later, or stop and say why.

Decided from Google's structured details, never from the words of the message: the
`google.rpc.ErrorInfo` reason and metadata an API sends with the error (Cloud Storage's
JSON API says the same in `errors[].reason`). A rate quota (requests per minute) refills
by itself and is retried; an allocation quota (GPUs per region) is not, and the hint names
the quota metric. Reasons: https://github.com/googleapis/googleapis/blob/master/google/api/error_reason.proto
"""

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from gcp.text import google_message

TRANSIENT = (
    gexc.TooManyRequests,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.GatewayTimeout,
    gexc.DeadlineExceeded,
    gexc.Aborted,
)
# ErrorInfo reasons (and the JSON API's) for a quota that refills within the minute.
RATE_REASONS = frozenset({"RATE_LIMIT_EXCEEDED", "rateLimitExceeded", "userRateLimitExceeded"})
# ...and for an allocation quota, which stays used up until capacity is freed or raised.
QUOTA_REASONS = frozenset({"RESOURCE_QUOTA_EXCEEDED", "quotaExceeded"})
SERVICE_DISABLED = "SERVICE_DISABLED"
# A permission whose role is not the step's own: acting as a service account (deploying a
# service or starting a build that runs as it) needs roles/iam.serviceAccountUser on that
# account (https://cloud.google.com/iam/docs/service-accounts-actas).
ACT_AS = "iam.serviceAccounts.actAs"
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"

_PERMISSION_RE = re.compile(r"Permission '([\w.]+)' denied")
# Kubernetes' RBAC and GKE's IAM authorizer word a refusal the same way
# (https://kubernetes.io/docs/reference/access-authn-authz/authorization/, and
# https://cloud.google.com/kubernetes-engine/docs/how-to/iam#interaction_with_rbac):
# 'User "U" cannot VERB resource "R" in API group "G" in the namespace "NS": requires one
# of ["container.R.VERB"] permission(s).'
_KUBE_VERB_RE = re.compile(r'cannot (\w+) resource "([\w./-]+)"')
_KUBE_NAMESPACE_RE = re.compile(r'in the namespace "([\w.-]+)"')
_KUBE_GROUP_RE = re.compile(r'in API group "([\w.-]*)"')
_GKE_PERMISSION_RE = re.compile(r'requires one of \["([\w.]+)"')
# GKE words a regional quota shortfall in its operation's error (it carries no ErrorInfo):
# 'Insufficient regional quota to satisfy request: resource "NVIDIA_H100_GPUS": request
# requires '8.0' and is short '8.0'...' (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/cluster-autoscaler-scale-up).
_GKE_QUOTA_RESOURCE_RE = re.compile(r'resource "([A-Z0-9_]+)"')


@dataclass(frozen=True)
class Diagnosis:
    transient: bool
    message: str
    hint: str = ""


@dataclass(frozen=True)
class ErrorDetail:
    """The structured part of a Google error: ErrorInfo's reason and metadata."""

    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


def error_detail(exc: gexc.GoogleAPICallError) -> ErrorDetail:
    if exc.reason:
        return ErrorDetail(str(exc.reason), {k: str(v) for k, v in (exc.metadata or {}).items()})
    # Cloud Storage's JSON API: {"errors": [{"reason": "rateLimitExceeded", ...}]}.
    for item in exc.errors or ():
        if isinstance(item, dict) and item.get("reason"):
            return ErrorDetail(str(item["reason"]))
    return ErrorDetail()


# What frees capacity under a quota, by the service the quota belongs to: Cloud Run counts
# instances' GPUs (max instances), GKE's nodes count against Compute Engine's quotas.
_QUOTA_REMEDY = {
    "run.googleapis.com": "or lower max instances",
    "compute.googleapis.com": "or ask for fewer or smaller GPU nodes (or another region)",
    "container.googleapis.com": "or ask for fewer or smaller GPU nodes (or another region)",
}


def quota_hint(metadata: dict[str, str], project: str) -> str:
    """Name the quota that ran out and where to raise it."""
    metric = metadata.get("quota_metric", "")
    where = metadata.get("quota_location", "")
    named = f"The quota {metric}" if metric else "A Google quota"
    limit = metadata.get("quota_limit", "")
    remedy = _QUOTA_REMEDY.get(metric.split("/", 1)[0], "or free capacity elsewhere")
    return (
        f"{named}{f' (limit {limit})' if limit else ''}{f' in {where}' if where else ''} "
        f"is used up. Ask for more on the project's Quotas page "
        f"(https://console.cloud.google.com/iam-admin/quotas?project={project}"
        f"{f'&metric={metric}' if metric else ''}), free capacity, {remedy}; "
        "then retry."
    )


def gke_quota_hint(message: str, region: str, project: str) -> str:
    """A GKE operation that ran out of a Compute Engine quota: name the quota and region.

    GKE's nodes are Compute Engine VMs, so what runs out is a Compute Engine quota (CPUS,
    NVIDIA_H100_GPUS, IN_USE_ADDRESSES...) of the cluster's region
    (https://cloud.google.com/kubernetes-engine/quotas)."""
    found = _GKE_QUOTA_RESOURCE_RE.search(message)
    quota = found.group(1) if found else ""
    named = f"The Compute Engine quota {quota}" if quota else "A Compute Engine quota"
    where = region or "the cluster's region"
    return (
        f"{named} in {where} is used up. Ask for more on the "
        f"project's Quotas page (https://console.cloud.google.com/iam-admin/quotas?project="
        f"{project}&service=compute.googleapis.com), or ask for fewer or smaller GPU nodes "
        "(or another region); then retry."
    )


def failed_call(exc: BaseException) -> str:
    """Which call an error answered ("DELETE /storage/v1/b/B/o/O"), so that retries are
    counted per call; empty when the error does not say."""
    named = getattr(exc, "failed_call", "")
    if named:
        return str(named)
    request = getattr(getattr(exc, "response", None), "request", None) or getattr(
        exc, "request", None
    )
    method, url = getattr(request, "method", None), getattr(request, "url", None)
    if not (method and url):
        return ""
    # The path names the resource; the query (alt=json, a page token) does not.
    return f"{str(method).upper()} {urlsplit(str(url)).path}"


def kube_permission_hint(status: dict[str, Any], principal: str, required_role: str) -> str:
    """A Kubernetes 403, as its Status says it: who may not do which verb on which resource
    in which namespace, and the GKE IAM permission that would let it."""
    message = str(status.get("message") or "")
    details = status.get("details") or {}
    verb_found = _KUBE_VERB_RE.search(message)
    verb = verb_found.group(1) if verb_found else "use"
    resource = str(details.get("kind") or (verb_found.group(2) if verb_found else "resources"))
    group_found = _KUBE_GROUP_RE.search(message)
    group = str(details.get("group") or (group_found.group(1) if group_found else ""))
    namespace_found = _KUBE_NAMESPACE_RE.search(message)
    where = f" in the namespace {namespace_found.group(1)}" if namespace_found else ""
    permission_found = _GKE_PERMISSION_RE.search(message)
    permission = f" (the IAM permission {permission_found.group(1)})" if permission_found else ""
    qualified = f"{resource}.{group}" if group else resource
    return (
        f"Hangar's identity {principal} may not {verb} {qualified}{where}{permission}. "
        f"The role {required_role} grants it on GKE; or bind a Kubernetes RBAC role that "
        f"allows {verb} on {qualified}{where}."
    )


def _permission_hint(
    exc: gexc.GoogleAPICallError,
    detail: ErrorDetail,
    required_role: str,
    principal: str,
    project: str,
) -> str:
    match = _PERMISSION_RE.search(exc.message or "")
    permission = detail.metadata.get("permission") or (match.group(1) if match else "")
    missing = f"the permission {permission}, " if permission else ""
    if permission == ACT_AS:
        account = detail.metadata.get("resource", "").rsplit("/", 1)[-1] or "SERVICE_ACCOUNT"
        return (
            f"Hangar's identity {principal} lacks {missing}which the role {SERVICE_ACCOUNT_USER} "
            f"on {account} grants. Grant it: gcloud iam service-accounts add-iam-policy-binding "
            f"{account} --member=serviceAccount:{principal} --role={SERVICE_ACCOUNT_USER}"
        )
    return (
        f"Hangar's identity {principal} lacks {missing}which the role {required_role} "
        f"grants. Grant it: gcloud projects add-iam-policy-binding {project} "
        f"--member=serviceAccount:{principal} --role={required_role}"
    )


def _api_error(
    exc: gexc.GoogleAPICallError, *, required_role: str, principal: str, project: str
) -> Diagnosis:
    message = f"{exc.code} {type(exc).__name__}: {google_message(exc)}"
    detail = error_detail(exc)
    if detail.reason in RATE_REASONS:
        return Diagnosis(True, message)
    if detail.reason in QUOTA_REASONS:
        return Diagnosis(False, message, quota_hint(detail.metadata, project))
    if detail.reason == SERVICE_DISABLED:
        service = detail.metadata.get("service", "the API")
        return Diagnosis(
            False,
            message,
            f"{service} is not enabled in {project}. Enable it: gcloud services enable "
            f"{service} --project={project}",
        )
    kube_status = getattr(exc, "kube_status", None)
    if isinstance(exc, gexc.Forbidden) and isinstance(kube_status, dict):
        hint = kube_permission_hint(kube_status, principal, required_role)
        return Diagnosis(False, message, hint)
    # Over REST a 403 arrives as Forbidden, over gRPC as PermissionDenied.
    if isinstance(exc, gexc.PermissionDenied | gexc.Forbidden):
        return Diagnosis(
            False, message, _permission_hint(exc, detail, required_role, principal, project)
        )
    # A 429 without details is still "too many requests": retried, within the step's retries.
    if isinstance(exc, (*TRANSIENT, gexc.ResourceExhausted)):
        return Diagnosis(True, message)
    return Diagnosis(False, message, "Check the request in the plan against Google's message.")


def diagnose(exc: Exception, *, required_role: str, principal: str, project: str) -> Diagnosis:
    """Turn an exception from a Google client into a message a person can act on."""
    if isinstance(exc, gexc.GoogleAPICallError):
        return _api_error(exc, required_role=required_role, principal=principal, project=project)
    # google-auth could not get a token: the metadata server or the token endpoint is
    # down or slow (RefreshError), or unreachable (TransportError). It comes back.
    if isinstance(exc, auth_exc.RefreshError | auth_exc.TransportError):
        return Diagnosis(True, f"Could not get a Google credential: {exc}")
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return Diagnosis(True, f"Could not reach Google: {exc}")
    raise exc


def status_detail(details: Any) -> ErrorDetail:
    """The ErrorInfo among a google.rpc.Status's details (a failed operation's error)."""
    from google.rpc import error_details_pb2

    for packed in details:
        info = error_details_pb2.ErrorInfo()
        if packed.Is(info.DESCRIPTOR):
            packed.Unpack(info)
            return ErrorDetail(info.reason, dict(info.metadata))
    return ErrorDetail()
