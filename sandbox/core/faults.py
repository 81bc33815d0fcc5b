"""Failures a test switches on: error responses, failed operations, failed builds, and
what Google and Kubernetes also do now and then:

- `per_call`: an error fault's `times` counts for each distinct call (method and path)
  instead of all of them together: "two 503s on every object delete", as Google answers
  any call with a transient error and a client retries each call on its own
  (https://cloud.google.com/storage/docs/retry-strategy).
- `operation_stuck`: the long-running operation the matching request starts never
  finishes. Nothing in the API bounds one: `done` stays false while it is "still in
  progress" (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.operations),
  and GKE documents operations that stay RUNNING until support steps in
  (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/cluster-operations).
- `gateway_address`: the Gateway controller reports `value` as the Gateway's status
  address. status.addresses[].value is free text to the API server (type IPAddress,
  Hostname or a vendor's own: https://gateway-api.sigs.k8s.io/reference/spec/#gatewaystatusaddress),
  so whatever a controller, or anyone who may write the status, puts there is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.core import errors
from sandbox.core.errors import ApiError

KINDS = (
    "error",
    "operation_error",
    "operation_stuck",
    "build_failure",
    "delay_before",
    "delay_after",
    "gateway_address",
)
# A request held before Google handles it (it may land after the client gave up), or a
# reply held after Google handled it (the client times out on work that was done).
DELAYS = ("delay_before", "delay_after")
MAX_DELAY_SECONDS = 120


@dataclass
class Fault:
    id: int
    kind: str
    method: str | None
    path: re.Pattern[str] | None
    times: int  # -1: forever
    status: str
    message: str | None
    permission: str | None
    code: int
    # Quota faults: which ErrorInfo reason, and which quota metric ran out.
    reason: str | None = None
    metric: str | None = None
    seconds: float = 0.0
    # `times` counts per distinct call (method, path), not for all calls together.
    per_call: bool = False
    # gateway_address: the address the Gateway's status reports.
    value: str | None = None
    fired: dict[tuple[str, str], int] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or self.path.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path.pattern if self.path else None,
            "times": self.times,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "permission": self.permission,
            "reason": self.reason,
            "metric": self.metric,
            "seconds": self.seconds,
            "per_call": self.per_call,
            "value": self.value,
        }


class FaultStore:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def clear(self) -> None:
        self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self._faults]

    def add(self, spec: dict[str, Any]) -> Fault:
        """Validate a test's fault spec; ValueError explains what is wrong."""
        allowed = {
            "kind",
            "method",
            "path",
            "times",
            "status",
            "message",
            "permission",
            "code",
            "reason",
            "metric",
            "seconds",
            "per_call",
            "value",
        }
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kind = spec.get("kind", "error")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        times = spec.get("times", 1)
        if not isinstance(times, int) or times == 0 or times < -1:
            raise ValueError("times must be a positive integer, or -1 for always")
        path = spec.get("path")
        method = spec.get("method")
        status_value = spec.get("status", 503 if kind == "error" else None)
        code = spec.get("code", 13)
        status = "INTERNAL"
        if kind == "error":
            status = _status_name(status_value)
        elif kind == "operation_error":
            if code not in errors.CODES:
                raise ValueError("code must be a google.rpc.Code between 1 and 16")
            status = errors.CODES[code][0]
        reason = spec.get("reason")
        if reason is not None and reason not in errors.QUOTA_REASONS:
            raise ValueError(f"reason must be one of {errors.QUOTA_REASONS}")
        metric = spec.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise ValueError("metric is a quota metric name, e.g. run.googleapis.com/...")
        seconds = spec.get("seconds", 0)
        if kind in DELAYS and (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= MAX_DELAY_SECONDS
        ):
            raise ValueError(f"seconds must be a number above 0 and at most {MAX_DELAY_SECONDS}")
        per_call = spec.get("per_call", False)
        if not isinstance(per_call, bool) or (per_call and (kind != "error" or times == -1)):
            raise ValueError("per_call: true or false, on an error fault of a set number of times")
        value = spec.get("value")
        if (kind == "gateway_address") != isinstance(value, str):
            raise ValueError("value (the address to report) goes with kind gateway_address only")
        fault = Fault(
            id=self._next_id,
            kind=kind,
            method=method.upper() if isinstance(method, str) else None,
            path=re.compile(path) if path else None,
            times=times,
            status=status,
            message=spec.get("message"),
            permission=spec.get("permission"),
            code=errors.BY_NAME[status],
            reason=reason,
            metric=metric,
            seconds=float(seconds) if kind in DELAYS else 0.0,
            per_call=per_call,
            value=value,
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, kind: str, method: str = "", path: str = "") -> Fault | None:
        """Consume one firing of the first matching fault of this kind."""
        for fault in self._faults:
            if fault.kind != kind or not fault.matches(method, path):
                continue
            if fault.per_call:
                call = (method.upper(), path)
                if fault.fired.get(call, 0) >= fault.times:
                    continue  # this call has had its failures: it goes through now
                fault.fired[call] = fault.fired.get(call, 0) + 1
                return fault
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
            return fault
        return None


def _status_name(value: object) -> str:
    if isinstance(value, int):
        if value not in errors.BY_HTTP:
            raise ValueError(f"unsupported HTTP status {value}")
        return errors.BY_HTTP[value]
    if isinstance(value, str) and value in errors.BY_NAME:
        return value
    raise ValueError("status must be an HTTP status number or a google.rpc status name")


def error_for(
    fault: Fault, resource: str, permission: str, domain: str, project_number: str
) -> ApiError:
    """The error response a fault produces, shaped as Google shapes that status."""
    if fault.status == "PERMISSION_DENIED":
        err = errors.permission_denied(fault.permission or permission, resource, domain)
        if fault.message:
            err.message = fault.message
        return err
    if fault.status == "RESOURCE_EXHAUSTED":
        return errors.quota_exceeded(
            domain,
            project_number,
            fault.message,
            fault.reason or errors.RATE_LIMIT_EXCEEDED,
            fault.metric,
        )
    if fault.status == "UNAVAILABLE":
        return ApiError("UNAVAILABLE", fault.message or "The service is currently unavailable.")
    if fault.status == "INTERNAL":
        return ApiError("INTERNAL", fault.message or "Internal error encountered. Please retry.")
    return ApiError(fault.status, fault.message or f"Injected {fault.status} fault.")


def operation_details(fault: Fault, service: str, project_number: str) -> list[dict[str, Any]]:
    """What a failed operation's google.rpc.Status carries: a RESOURCE_EXHAUSTED one names
    the quota that ran out (an allocation quota, unless the test says otherwise)."""
    if fault.status != "RESOURCE_EXHAUSTED":
        return []
    reason = fault.reason or errors.RESOURCE_QUOTA_EXCEEDED
    return [errors.quota_info(service, project_number, reason, fault.metric)]
