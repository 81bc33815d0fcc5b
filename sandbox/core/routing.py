"""Google-style HTTP rules (`/v2/{name=projects/*/...}`) and the per-call context."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import Message

from sandbox.core import errors, faults, validation
from sandbox.core.operations import Operation

if TYPE_CHECKING:
    from sandbox.core.state import State

M = TypeVar("M", bound=Message)


Handler = Callable[["ApiCall"], Message]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    request: type[Message]
    permission: str
    service: str
    locations: frozenset[str]
    body: str | None = None
    # (collection, query parameter) naming the resource a create call makes.
    creates: tuple[str, str] | None = None
    regex: re.Pattern[str] = field(init=False)
    field_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.field_names = []
        pattern = ""
        pos = 0
        for match in re.finditer(r"\{([\w.]+)(?:=([^}]+))?\}", self.template):
            pattern += re.escape(self.template[pos : match.start()])
            name, sub = match.group(1), match.group(2) or "*"
            group = f"f{len(self.field_names)}"
            self.field_names.append(name)
            parts = [
                ".+" if s == "**" else "[^/]+" if s == "*" else re.escape(s) for s in sub.split("/")
            ]
            pattern += f"(?P<{group}>{'/'.join(parts)})"
            pos = match.end()
        pattern += re.escape(self.template[pos:])
        self.regex = re.compile(pattern + "$")

    def match(self, raw_path: str) -> dict[str, str] | None:
        m = self.regex.match(raw_path)
        if not m:
            return None
        values = {}
        for i, name in enumerate(self.field_names):
            value = m.group(f"f{i}")
            values[name] = "/".join(urllib.parse.unquote(s) for s in value.split("/"))
        return values


@dataclass
class ApiCall:
    state: State
    route: Route
    fields: dict[str, str]
    query_items: list[tuple[str, str]]
    body_text: str
    int_enums: bool
    method: str = ""
    path: str = ""
    log_entry: dict[str, Any] = field(default_factory=dict)
    _query: Message | None = None

    @property
    def query(self) -> Any:
        """The request message with the query parameters bound (path and body excluded)."""
        if self._query is None:
            exclude = [n.split(".")[0] for n in self.route.field_names]
            if self.route.body and self.route.body != "*":
                exclude.append(self.route.body)
            self._query = validation.parse_query(self.query_items, self.route.request(), exclude)
        return self._query

    def body(self, message: M) -> M:
        location = None if self.route.body == "*" else self.route.body
        return validation.parse_json_body(self.body_text, message, location)

    @property
    def config(self) -> Any:
        return self.state.config

    def resource(self) -> str:
        """The resource the call acts on, as Google names it in permission errors."""
        first = next(iter(self.fields.values()), "")
        if self.route.creates:
            collection, param = self.route.creates
            ident = dict(self.query_items).get(param, "")
            return f"{first}/{collection}/{ident}" if ident else first
        if "project_id" in self.fields:
            return f"projects/{self.fields['project_id']}"
        return first

    def new_operation(
        self,
        parent: str,
        metadata: Callable[[], Message],
        finish: Callable[[], Message],
        on_error: Callable[[int, str], None] | None = None,
        op_id: str | None = None,
        delay: float | None = None,
    ) -> Operation:
        fault = self.state.faults.take("operation_error", self.method, self.path)
        if fault is not None:
            self.log_entry["fault"] = fault.describe()
        stuck = self.state.faults.take("operation_stuck", self.method, self.path)
        if stuck is not None:
            self.log_entry["fault"] = stuck.describe()
        wait = self.config.operation_delay if delay is None else delay
        return self.state.operations.create(
            parent,
            float("inf") if stuck is not None else wait,
            metadata,
            finish,
            on_error=on_error,
            forced_error=(fault.code, fault.message or "Operation failed (injected fault).")
            if fault
            else None,
            op_id=op_id,
            error_details=faults.operation_details(
                fault, self.route.service, self.config.project_number
            )
            if fault
            else None,
        )


def find_route(
    routes: Iterable[Route], method: str, raw_path: str
) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        if route.method != method:
            continue
        fields = route.match(raw_path)
        if fields is not None:
            return route, fields
    return None


def check_scope(call: ApiCall) -> None:
    """Only the sandbox's project, and only real locations of this API."""
    cfg = call.state.config
    for name, value in call.fields.items():
        project = value if name == "project_id" else None
        m = re.match(r"projects/([^/]+)", value)
        if m:
            project = m.group(1)
        # IAM infers a service account's project from `projects/-/serviceAccounts/EMAIL`
        # (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/getIamPolicy:
        # "Using the - wildcard character instead of a project ID will infer the project
        # from the account"), as gcloud iam service-accounts names them.
        if project == "-" and "/serviceAccounts/" in value:
            continue
        if project is not None and project not in (cfg.project, cfg.project_number):
            raise errors.permission_denied(
                call.route.permission, call.resource(), call.route.service
            )
        loc = re.match(r"projects/[^/]+/locations/([^/]+)", value)
        if loc and loc.group(1) not in call.route.locations:
            raise errors.invalid(
                f"Location '{loc.group(1)}' is not a valid location for {call.route.service}.",
                field=name,
            )


def normalize_project(name: str, project: str, number: str) -> str:
    """Resource names are stored with the project id, whichever form the caller used."""
    return re.sub(rf"^projects/{re.escape(number)}(?=/|$)", f"projects/{project}", name)
