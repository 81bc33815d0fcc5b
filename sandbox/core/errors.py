"""Google's error shape: {"error": {"code", "message", "status", "details"}}."""

from __future__ import annotations

from typing import Any

# gRPC code -> (status name, HTTP status), as google.rpc.Code maps them.
CODES: dict[int, tuple[str, int]] = {
    1: ("CANCELLED", 499),
    2: ("UNKNOWN", 500),
    3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504),
    5: ("NOT_FOUND", 404),
    6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409),
    11: ("OUT_OF_RANGE", 400),
    12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}
BY_NAME: dict[str, int] = {name: code for code, (name, _) in CODES.items()}
# When a test asks for an HTTP status, pick the status name Google uses for it.
BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class ApiError(Exception):
    """Raised anywhere in an API handler; rendered as Google's JSON error."""

    def __init__(self, status: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        if status not in BY_NAME:
            raise ValueError(f"unknown status {status}")
        self.status = status
        self.message = message
        self.details = details or []

    @property
    def code(self) -> int:
        return BY_NAME[self.status]

    @property
    def http_status(self) -> int:
        return CODES[self.code][1]

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.http_status,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str, field: str | None = None) -> ApiError:
    details = []
    if field is not None:
        details.append(
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": message}]}
        )
    return ApiError("INVALID_ARGUMENT", message, details)


def not_found(message: str) -> ApiError:
    return ApiError("NOT_FOUND", message)


def permission_denied(permission: str, resource: str, domain: str) -> ApiError:
    return ApiError(
        "PERMISSION_DENIED",
        f"Permission '{permission}' denied on resource '{resource}' (or resource may not exist).",
        [
            {
                "@type": ERROR_INFO,
                "reason": "IAM_PERMISSION_DENIED",
                "domain": "iam.googleapis.com",
                "metadata": {"permission": permission, "resource": resource, "service": domain},
            }
        ],
    )


def unauthenticated(missing: bool) -> ApiError:
    lead = (
        "Request is missing required authentication credential."
        if missing
        else "Request had invalid authentication credentials."
    )
    return ApiError(
        "UNAUTHENTICATED",
        f"{lead} Expected OAuth 2 access token, login cookie or other valid authentication "
        "credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        [
            {
                "@type": ERROR_INFO,
                "reason": "CREDENTIALS_MISSING" if missing else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                "domain": "googleapis.com",
            }
        ],
    )


# The reasons Google puts in a quota error's google.rpc.ErrorInfo (domain googleapis.com),
# from https://github.com/googleapis/googleapis/blob/master/google/api/error_reason.proto:
# a rate quota (requests per minute) refills by itself; an allocation quota (GPUs per
# region) only when someone frees capacity or raises the quota.
RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
RESOURCE_QUOTA_EXCEEDED = "RESOURCE_QUOTA_EXCEEDED"
QUOTA_REASONS = (RATE_LIMIT_EXCEEDED, RESOURCE_QUOTA_EXCEEDED)
# Cloud Run's per-region L4 quota when zonal redundancy is off (what the plans ask for).
L4_METRIC = "run.googleapis.com/nvidia_l4_gpu_allocation_no_zonal_redundancy"


def quota_info(
    service: str,
    project_number: str,
    reason: str = RATE_LIMIT_EXCEEDED,
    metric: str | None = None,
    location: str = "global",
) -> dict[str, Any]:
    """The ErrorInfo detail of a quota error, with the metadata error_reason.proto lists."""
    rate = reason == RATE_LIMIT_EXCEEDED
    metric = metric or (f"{service}/requests" if rate else L4_METRIC)
    return {
        "@type": ERROR_INFO,
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {
            "consumer": f"projects/{project_number}",
            "quota_metric": metric,
            "quota_limit": "RequestsPerMinutePerProject" if rate else "PerProjectPerRegion",
            "quota_location": location,
            "service": service,
        },
    }


def quota_exceeded(
    service: str,
    project_number: str,
    message: str | None = None,
    reason: str = RATE_LIMIT_EXCEEDED,
    metric: str | None = None,
) -> ApiError:
    """A 429 RESOURCE_EXHAUSTED as Google sends it: what ran out is in the ErrorInfo, not
    in the message (https://cloud.google.com/docs/quotas/troubleshoot)."""
    info = quota_info(service, project_number, reason, metric)
    quota_metric = info["metadata"]["quota_metric"]
    default = (
        f"Quota exceeded for quota metric '{quota_metric}' and limit "
        f"'{info['metadata']['quota_limit']}' of service '{service}' for consumer "
        f"'project_number:{project_number}'."
    )
    return ApiError("RESOURCE_EXHAUSTED", message or default, [info])
