"""The instances each Cloud Run service ran, on the sandbox's own clock: what Cloud Monitoring's
`run.googleapis.com/container/billable_instance_time` reports (sandbox/cloud_monitoring/api.py).

GPU services use instance-based billing, which bills "the entire lifecycle of instances,
even when there are no incoming requests"
(https://cloud.google.com/run/docs/configuring/billing-settings; GPU services require it:
https://cloud.google.com/run/docs/configuring/services/gpu). An instance starts when a
request finds no free one (its start-up is billed: the request waits for it), serves up to
`max_instance_request_concurrency` requests at once, and stays idle after its last request:
"Cloud Run may keep some instances idle for a maximum of 15 minutes"
(https://cloud.google.com/run/docs/about-instance-autoscaling), the sandbox's
`run_idle_timeout`. `min_instance_count` instances live as long as the revision serves.
More instances than `max_instance_count` are never started.

The clock is the sandbox's (sandbox/core/clock.py): the wall clock until a test sets it
(`POST /_sandbox/clock`), then it stands still and moves only when told, so a day of busy,
idle and scaled-to-zero periods is played in milliseconds (`POST /_sandbox/run/busy` holds
requests open for a while of sandbox time).
"""

from __future__ import annotations

import datetime
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.clock import Clock

MINUTE = 60.0


@dataclass
class Timeline:
    """One service's serving periods and the requests it served (start, end; end None
    while open)."""

    location: str
    service_id: str
    revision: str = ""
    min_instances: int = 0
    max_instances: int = 100
    concurrency: int = 80
    serving_since: float | None = None
    deleted_at: float | None = None
    requests: list[list[float | None]] = field(default_factory=list)


class RunInstances:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock  # the sandbox's (State.clock), reset with the state
        self.timelines: dict[str, Timeline] = {}
        self._ids = itertools.count()

    def clear(self) -> None:
        self.timelines.clear()

    def serving(self, name: str, pb: Any) -> None:
        """A revision of service `name` serves all traffic from now on."""
        template = pb.template
        parts = name.split("/")
        line = self.timelines.get(name)
        if line is None or line.deleted_at is not None:
            line = self.timelines[name] = Timeline(location=parts[3], service_id=parts[5])
        line.revision = pb.latest_ready_revision.rsplit("/", 1)[-1]
        line.min_instances = template.scaling.min_instance_count or pb.scaling.min_instance_count
        line.max_instances = template.scaling.max_instance_count or 100
        line.concurrency = template.max_instance_request_concurrency or 80
        if line.serving_since is None:
            line.serving_since = self.clock.now()

    def deleted(self, name: str) -> None:
        line = self.timelines.get(name)
        if line is not None and line.deleted_at is None:
            now = self.clock.now()
            line.deleted_at = now
            for request in line.requests:
                if request[1] is None:
                    request[1] = now

    def started(self, name: str) -> list[float | None] | None:
        line = self.timelines.get(name)
        if line is None or line.deleted_at is not None:
            return None
        request: list[float | None] = [self.clock.now(), None]
        line.requests.append(request)
        return request

    def ended(self, request: list[float | None] | None) -> None:
        if request is not None and request[1] is None:
            request[1] = max(self.clock.now(), request[0] or 0.0)

    def busy(self, name: str, seconds: float, concurrent: int) -> None:
        """`concurrent` requests held open for `seconds` of sandbox time from now."""
        line = self.timelines[name]
        start = self.clock.now()
        for _ in range(concurrent):
            line.requests.append([start, start + seconds])
        self.clock.advance(seconds)

    def lifetimes(self, name: str, idle_timeout: float) -> list[tuple[float, float]]:
        """Each instance's (start, end) up to now; a live instance ends at now."""
        line = self.timelines.get(name)
        if line is None or line.serving_since is None:
            return []
        now = self.clock.now()
        end_of_service = line.deleted_at if line.deleted_at is not None else now
        demand = _demand(line, now)
        spans: list[tuple[float, float]] = []
        for k in range(1, line.max_instances + 1):
            needed = [(a, b) for a, b, n in demand if math.ceil(n / line.concurrency) >= k]
            if k <= line.min_instances:
                needed.append((line.serving_since, end_of_service))
            if not needed and k > line.min_instances:
                break
            for a, b in _merge([(a, b + idle_timeout) for a, b in needed]):
                spans.append((a, min(b, end_of_service, now)))
        return [(a, b) for a, b in spans if b > a]

    def billable_minutes(
        self, name: str, idle_timeout: float, start: float, end: float
    ) -> list[tuple[float, float]]:
        """(minute's end, billable instance-seconds in it) for whole minutes in
        (start, end] with any instance alive, as the metric samples them every 60 s."""
        spans = self.lifetimes(name, idle_timeout)
        first = math.floor(start / MINUTE) * MINUTE
        out = []
        window = first
        while window + MINUTE <= end:
            lo, hi = window, window + MINUTE
            if hi > start:
                seconds = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans)
                if seconds > 0:
                    out.append((hi, seconds))
            window = hi
        return out


def _demand(line: Timeline, now: float) -> list[tuple[float, float, int]]:
    """(from, to, requests in flight) over the periods with any request in flight."""
    edges: list[tuple[float, int]] = []
    for start, end in line.requests:
        if start is None:
            continue
        edges.append((start, 1))
        edges.append((end if end is not None else now, -1))
    edges.sort(key=lambda e: (e[0], e[1]))
    out: list[tuple[float, float, int]] = []
    level, since = 0, 0.0
    for at, change in edges:
        if level > 0 and at > since:
            out.append((since, at, level))
        level += change
        since = at
    return out


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def parse_time(value: Any) -> float:
    """An RFC 3339 timestamp ("2026-12-01T00:00:00Z") as seconds since the epoch."""
    if not isinstance(value, str):
        raise ValueError("a time is an RFC 3339 string")
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time needs its offset (Z for UTC)")
    return parsed.timestamp()


def control(state: Any, action: str, method: str, body: Any) -> tuple[int, dict[str, Any]] | None:
    """`/_sandbox/clock` (GET; POST {"set": time} or {"advance_seconds": n}) and
    `/_sandbox/run/busy` (POST {"service": name, "seconds": n, "concurrent": k}).
    None when the action is not one of these."""
    instances = state.store(RunInstances)
    if action == "clock" and method in ("GET", "POST"):
        if method == "POST":
            if not isinstance(body, dict) or set(body) - {"set", "advance_seconds"}:
                return 400, {"error": 'the clock takes {"set": time} or {"advance_seconds": n}'}
            try:
                if "set" in body:
                    instances.clock.set(parse_time(body["set"]))
                if "advance_seconds" in body:
                    instances.clock.advance(_seconds(body["advance_seconds"]))
            except ValueError as exc:
                return 400, {"error": str(exc)}
        return 200, {
            "now": _iso(instances.clock.now()),
            "frozen": instances.clock.frozen_at is not None,
        }
    if action == "run/busy" and method == "POST":
        if not isinstance(body, dict) or set(body) - {"service", "seconds", "concurrent"}:
            return 400, {"error": 'busy takes {"service": name, "seconds": n, "concurrent": k}'}
        line = instances.timelines.get(str(body.get("service")))
        if line is None or line.serving_since is None or line.deleted_at is not None:
            return 404, {"error": f"no serving Cloud Run service {body.get('service')!r}"}
        concurrent = body.get("concurrent", 1)
        if (
            isinstance(concurrent, bool)
            or not isinstance(concurrent, int)
            or not 1 <= concurrent <= 1000
        ):
            return 400, {"error": "concurrent is a whole number from 1 to 1000"}
        try:
            instances.busy(str(body["service"]), _seconds(body.get("seconds")), concurrent)
        except ValueError as exc:
            return 400, {"error": str(exc)}
        return 200, {"now": _iso(instances.clock.now())}
    return None


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10**7:
        raise ValueError("seconds are a number from 0 to 10,000,000")
    return float(value)


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat().replace("+00:00", "Z")
