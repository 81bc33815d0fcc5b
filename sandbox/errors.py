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


def quota_exceeded(service: str, project_number: str, message: str | None = None) -> ApiError:
    metric = f"{service}/requests"
    return ApiError(
        "RESOURCE_EXHAUSTED",
        message
        or (
            f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of "
            f"service '{service}' for consumer 'project_number:{project_number}'."
        ),
        [
            {
                "@type": ERROR_INFO,
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {"quota_metric": metric, "service": service},
            }
        ],
    )
