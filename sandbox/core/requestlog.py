"""A record of every API and model-server request, for tests to assert on."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from aiohttp import web

# What a secret's value is logged as, wherever the log meets one.
REDACTED = "<redacted>"


class RequestLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.entries.clear()

    def start(self, request: web.Request, body: bytes, kind: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(),
            "kind": kind,
            "method": request.method,
            "path": request.path,
            "query": {k: v for k, v in request.query.items()},
            # Whether a credential was sent, never the credential itself.
            "authorization": "Authorization" in request.headers,
            "body": _redacted(request.path, _parse(body)),
            "status": None,
            "fault": None,
        }
        self.entries.append(entry)
        return entry

    def select(self, path_regex: str | None, method: str | None) -> list[dict[str, Any]]:
        pattern = re.compile(path_regex) if path_regex else None
        return [
            e
            for e in self.entries
            if (pattern is None or pattern.search(e["path"]))
            and (method is None or e["method"] == method.upper())
        ]


def _redacted(path: str, body: Any) -> Any:
    """A secret version's payload is never kept, as Cloud Audit Logs never keep one."""
    if path.endswith(":addVersion") and isinstance(body, dict):
        payload = body.get("payload")
        if isinstance(payload, dict) and "data" in payload:
            body["payload"] = {**payload, "data": REDACTED}
    return body


def _parse(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"unparsed": body.decode("utf-8", "replace")[:2000]}
