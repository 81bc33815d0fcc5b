"""What the OpenAPI schema says beyond what drf-spectacular reads from the views: the one
error shape on every operation, and the OpenAI-compatible passthrough (a streaming view
outside DRF). Registered as drf-spectacular postprocessing hooks."""

from typing import Any

ERROR = {
    "type": "object",
    "description": "The one error shape (portal/api/exception_handler.py).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "validation_failed"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Per field, what is wrong with it (validation errors).",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERRORS = {
    "400": "Not valid: `fields` names each refused field (unknown fields included) and why.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Signed in, but not allowed (role, team, or token scope).",
    "404": "No such object among those you can see.",
    "409": "Conflicts with what exists: a live deployment has that name, or the status "
    "does not allow the move.",
}
# Operations that change nothing cannot conflict.
READ_ERRORS = ("400", "401", "403", "404")

PASSTHROUGH_ROUTES = {
    "chat/completions": ("post", "Chat completion (OpenAI-compatible)"),
    "completions": ("post", "Text completion (OpenAI-compatible)"),
    "models": ("get", "Models the deployment serves (OpenAI-compatible)"),
}
PASSTHROUGH_DESCRIPTION = (
    "Hangar's OpenAI-compatible passthrough to a Ready deployment: send what you would send "
    "to OpenAI's `/v1/{route}` (stream or not) with a team token; Hangar adds the "
    "deployment's own credential and records usage. Point the `openai` client's `base_url` "
    "at `/api/v1/deployments/{{id}}/openai/v1`."
)


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            codes = READ_ERRORS if method == "get" else tuple(ERRORS)
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": ERRORS[code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result


def add_passthrough(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    paths = result.setdefault("paths", {})
    for route, (method, summary) in PASSTHROUGH_ROUTES.items():
        operation: dict[str, Any] = {
            "operationId": f"openai_{route.replace('/', '_')}",
            "summary": summary,
            "description": PASSTHROUGH_DESCRIPTION.format(route=route),
            "tags": ["openai"],
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "security": [{"teamToken": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "OpenAI's response shape; with `stream: true`, "
                    "server-sent events (`text/event-stream`) ending in `data: [DONE]`.",
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                }
            },
        }
        if method == "post":
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "description": "OpenAI's request body; `model` is one the "
                            "deployment serves (see models).",
                            "required": ["model"],
                            "properties": {"model": {"type": "string"}},
                        }
                    }
                },
            }
        paths[f"/api/v1/deployments/{{id}}/openai/v1/{route}"] = {method: operation}
    return result
