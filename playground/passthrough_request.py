"""Parsing an OpenAI-compatible request before anything is taken for it.

Every check that can refuse a request runs here, before a stream slot or an upstream
connection exists, so a refused request holds nothing. The body is passed on as the
client sent it (the endpoint judges its own fields); what Hangar reads from it (stream,
stream_options, model, the prompt's size) must have the type the OpenAI API gives it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from playground.services import estimate_tokens
from portal.exceptions import ApplicationError, ValidationFailed

ROUTES = {"chat/completions": "POST", "completions": "POST", "models": "GET"}
MODEL_NAME_MAX = 200


class MethodNotAllowed(ApplicationError):
    code = "method_not_allowed"
    http_status = 405


@dataclass(frozen=True)
class PassthroughRequest:
    route: str
    method: str
    body: dict[str, Any]  # what the endpoint gets: a stream always asks it for usage
    streaming: bool
    wants_usage: bool  # whether the client itself asked for the usage chunk
    model: str
    prompt_tokens: int  # an estimate, used when the endpoint reports no usage


def json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object a request carries; anything else (not JSON, too deep, NaN) is a 400."""
    try:
        parsed = json.loads(raw or b"{}", parse_constant=_no_constant)
    except RecursionError:
        raise ValidationFailed("The request body is nested too deeply.") from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise ValidationFailed("The request body is not JSON.") from None
    if not isinstance(parsed, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return parsed


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def passthrough_parse(*, route: str, method: str, raw_body: bytes) -> PassthroughRequest:
    expected = ROUTES.get(route)
    if expected != method:
        raise MethodNotAllowed(f"Use {expected} for /v1/{route}.")
    if method != "POST":
        return PassthroughRequest(route, method, {}, False, False, "", 0)
    body = json_object(raw_body)
    streaming = _optional(body, "stream", bool, "true or false")
    options = _optional(body, "stream_options", dict, "an object")
    wants_usage = False
    if options is not None:
        wants_usage = bool(_optional(options, "include_usage", bool, "true or false"))
    model = _optional(body, "model", str, "a model name")
    if model is not None and len(model) > MODEL_NAME_MAX:
        raise ValidationFailed(
            f"model is longer than {MODEL_NAME_MAX} characters.", fields={"model": ["too long"]}
        )
    if streaming and not wants_usage:
        # Asked for upstream so that Hangar counts exactly; dropped again on the way back.
        body["stream_options"] = {**(options or {}), "include_usage": True}
    return PassthroughRequest(
        route=route,
        method=method,
        body=body,
        streaming=bool(streaming),
        wants_usage=wants_usage,
        model=model or "",
        prompt_tokens=_prompt_tokens(body),
    )


def _optional(data: dict[str, Any], name: str, kind: type, described: str) -> Any:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValidationFailed(f"{name} must be {described}.", fields={name: [f"not {described}"]})
    return value


def _prompt_tokens(body: dict[str, Any]) -> int:
    """About how many tokens the prompt holds, whatever shape the OpenAI API allows it."""
    messages = body.get("messages")
    if isinstance(messages, list):
        texts = [_text(m.get("content")) for m in messages if isinstance(m, dict)]
        return estimate_tokens(" ".join(texts))
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return estimate_tokens(prompt)
    if isinstance(prompt, list):  # strings, token ids, or lists of token ids
        ids = sum(1 for p in prompt if isinstance(p, int))
        ids += sum(len(p) for p in prompt if isinstance(p, list))
        text = " ".join(p for p in prompt if isinstance(p, str))
        return ids + (estimate_tokens(text) if text else 0)
    return 1


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only the text ones count
        return " ".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""
