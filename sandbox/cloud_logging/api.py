"""Cloud Logging's entries.list for what the sandbox runs: its builds' logs and its Cloud Run
services' logs, made up from the sandbox's own state when asked.

Strict as Google is (https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list):
`resourceNames` is required (at most 100, `projects/PROJECT` here, another project is a
permission error), `orderBy` is "timestamp asc" (default) or "timestamp desc", `pageSize`
defaults to 50 and is refused when negative or past 1000, a filter is at most 20,000
characters. Filters use the Logging query language
(https://cloud.google.com/logging/docs/view/logging-query-language); the sandbox reads the
subset Hangar writes (comparisons joined by AND on resource.type, resource.labels.*, logName,
severity and timestamp) and refuses anything else as unparseable rather than guess.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from google.cloud.logging_v2.types import ListLogEntriesRequest, ListLogEntriesResponse
from google.protobuf import json_format
from google.protobuf.message import Message

from sandbox.cloud_build.api import BuildStore
from sandbox.cloud_run.store import RunStore
from sandbox.core import errors
from sandbox.core.routing import ApiCall, Route

if TYPE_CHECKING:
    from sandbox.core.state import State

SERVICE = "logging.googleapis.com"
PERMISSION = "logging.logEntries.list"
MAX_RESOURCES = 100
MAX_PAGE = 1000
DEFAULT_PAGE = 50
MAX_FILTER = 20_000
ORDERS = {"": False, "timestamp asc": False, "timestamp desc": True}
SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT"]
_TERM = re.compile(
    r'\s*(?P<key>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)\s*'
)


def routes() -> list[Route]:
    request = ListLogEntriesRequest.pb()
    return [
        Route(
            "POST",
            "/v2/entries:list",
            list_entries,
            request,
            PERMISSION,
            SERVICE,
            frozenset(),
            body="*",
        ),
    ]


def list_entries(call: ApiCall) -> Message:
    req = call.body(ListLogEntriesRequest.pb()())
    project = _project(call, list(req.resource_names))
    if req.page_size < 0 or req.page_size > MAX_PAGE:
        raise errors.invalid(f"pageSize must be between 0 and {MAX_PAGE}.", field="page_size")
    if req.order_by.strip() not in ORDERS:
        raise errors.invalid(
            'orderBy must be "timestamp asc" or "timestamp desc".', field="order_by"
        )
    if len(req.filter) > MAX_FILTER:
        raise errors.invalid(f"The filter is longer than {MAX_FILTER} characters.", "filter")
    terms = _parse_filter(req.filter)
    entries = [e for e in _entries(call.state, project) if _matches(e, terms)]
    newest_first = ORDERS[req.order_by.strip()]
    entries.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=newest_first)
    start = _offset(req.page_token)
    size = req.page_size or DEFAULT_PAGE
    page = entries[start : start + size]
    body: dict[str, Any] = {"entries": page}
    if start + size < len(entries):
        body["nextPageToken"] = f"sbx-{start + size}"
    out = ListLogEntriesResponse.pb()()
    json_format.ParseDict(body, out)
    return out


def _project(call: ApiCall, names: list[str]) -> str:
    if not names:
        raise errors.invalid("resourceNames is required.", field="resource_names")
    if len(names) > MAX_RESOURCES:
        raise errors.invalid(f"At most {MAX_RESOURCES} resourceNames.", field="resource_names")
    cfg = call.state.config
    project = ""
    for name in names:
        m = re.fullmatch(r"projects/([^/]+)", name)
        if m is None:
            raise errors.invalid(f"Invalid resource name: {name}", field="resource_names")
        if m.group(1) not in (cfg.project, cfg.project_number):
            raise errors.permission_denied(PERMISSION, name, SERVICE)
        project = cfg.project
    return project


def _offset(token: str) -> int:
    if not token:
        return 0
    m = re.fullmatch(r"sbx-(\d{1,9})", token)
    if m is None:
        raise errors.invalid("The page token is invalid.", field="page_token")
    return int(m.group(1))


def _parse_filter(text: str) -> list[tuple[str, str, str]]:
    if not text.strip():
        return []
    terms = []
    for part in re.split(r"\s+AND\s+", text.strip()):
        m = _TERM.fullmatch(part)
        key = m.group("key") if m else ""
        known = key in ("resource.type", "logName", "severity", "timestamp") or key.startswith(
            "resource.labels."
        )
        if m is None or not known:
            raise errors.invalid(f"Unparseable filter: {part[:200]}", field="filter")
        value = m.group("value")
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        terms.append((key, m.group("op"), value))
    return terms


def _field(entry: dict[str, Any], key: str) -> str:
    if key.startswith("resource.labels."):
        return str(entry["resource"]["labels"].get(key.removeprefix("resource.labels."), ""))
    if key == "resource.type":
        return str(entry["resource"]["type"])
    return str(entry.get(key, ""))


def _matches(entry: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    for key, op, value in terms:
        have = _field(entry, key)
        left: Any = have
        right: Any = value
        if key == "severity":
            left = SEVERITIES.index(have) if have in SEVERITIES else 0
            right = SEVERITIES.index(value.upper()) if value.upper() in SEVERITIES else 0
        elif key != "timestamp" and op != "=":
            raise errors.invalid(f"Unparseable filter: {key}{op}{value}", field="filter")
        if not {
            "=": left == right,
            ">=": left >= right,
            "<=": left <= right,
            ">": left > right,
            "<": left < right,
        }[op]:
            return False
    return True


# ---- what the sandbox's builds and services would have logged --------------------------


def _stamp(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _entry(
    log: str, resource: dict[str, Any], at: float, n: int, text: str, severity: str = "INFO"
) -> dict[str, Any]:
    return {
        "logName": log,
        "resource": resource,
        "timestamp": _stamp(at),
        "receiveTimestamp": _stamp(at),
        "severity": severity,
        "insertId": f"{int(at * 1e6):x}-{n:04d}",
        "textPayload": text,
    }


def _entries(state: State, project: str) -> list[dict[str, Any]]:
    return [*_build_entries(state, project), *_service_entries(state, project)]


def _build_entries(state: State, project: str) -> list[dict[str, Any]]:
    """Cloud Build writes each build's output to the `cloudbuild` log, resource type
    `build` (https://cloud.google.com/build/docs/securing-builds/store-manage-build-logs)."""
    out = []
    for stored in state.store(BuildStore).builds.values():
        build = state.store(BuildStore).view(stored)
        log = f"projects/{project}/logs/cloudbuild"
        resource = {"type": "build", "labels": {"build_id": build.id, "project_id": project}}
        lines: list[tuple[str, str]] = [("INFO", f'starting build "{build.id}"'), ("INFO", "")]
        started = build.start_time.seconds
        if started:
            for i, step in enumerate(build.steps):
                name = f"Step #{i}" + (f' - "{step.id}"' if step.id else "")
                lines.append(("INFO", f"{name}: Pulling image: {step.name}"))
                if step.status:
                    status = "Finished" if step.status == 3 else "Failed"  # SUCCESS is 3
                    lines.append(("INFO" if step.status == 3 else "ERROR", f"{name}: {status}"))
        if stored.finished:
            if build.status == 3:
                lines.append(("INFO", "DONE"))
            else:
                detail = build.failure_info.detail or "build failed"
                lines.append(("ERROR", f"ERROR: {detail}"))
        first = build.create_time.seconds + build.create_time.nanos / 1e9
        finished = build.finish_time.seconds + build.finish_time.nanos / 1e9
        # Times kept in whole seconds can put the end before the start; lines stay in order.
        last = max(finished or started or first, first)
        step = max((last - first) / max(len(lines) - 1, 1), 0.001)
        for n, (severity, text) in enumerate(lines):
            out.append(_entry(log, resource, first + n * step, n, text, severity))
    return out


def _service_entries(state: State, project: str) -> list[dict[str, Any]]:
    """Cloud Run writes to `run.googleapis.com%2Fstdout` and `%2Frequests`, resource type
    `cloud_run_revision` (https://cloud.google.com/run/docs/logging)."""
    out = []
    for name, stored in state.store(RunStore).services.items():
        parts = name.split("/")  # projects/P/locations/L/services/S
        location, service = parts[3], parts[5]
        revision = stored.pb.latest_ready_revision.rsplit("/", 1)[-1] or f"{service}-00001"
        resource = {
            "type": "cloud_run_revision",
            "labels": {
                "service_name": service,
                "revision_name": revision,
                "location": location,
                "project_id": project,
                "configuration_name": service,
            },
        }
        stdout = f"projects/{project}/logs/run.googleapis.com%2Fstdout"
        requests = f"projects/{project}/logs/run.googleapis.com%2Frequests"
        created = stored.pb.create_time.seconds + stored.pb.create_time.nanos / 1e9
        started = "Starting new instance. Reason: DEPLOYMENT"
        out.append(_entry(stdout, resource, created, 0, started))
        if stored.serving is not None:
            probe = f"Default STARTUP TCP probe succeeded for service {service}."
            out.append(_entry(stdout, resource, created + 0.5, 1, probe))
        prefix = f"/_run/{project}/{location}/{service}"
        for n, request in enumerate(state.log.entries, start=2):
            if request["kind"] != "model" or not request["path"].startswith(prefix):
                continue
            at = datetime.datetime.fromisoformat(request["time"]).timestamp()
            status = request.get("status") or 0
            text = f"{request['method']} {status} {request['path'][len(prefix) :] or '/'}"
            severity = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
            out.append(_entry(requests, resource, at, n, text, severity))
    return out
