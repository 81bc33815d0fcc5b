"""The application's one error type. Services raise it; the API and the forms render it."""

from typing import Any


class ApplicationError(Exception):
    """A refusal a user can act on: it carries a message for people and a stable code for code."""

    code = "invalid"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    code = "validation_failed"


class NameTaken(ValidationFailed):
    """The name is held by a live resource: the request clashes with what exists (409)."""

    code = "name_taken"
    http_status = 409


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    http_status = 409
