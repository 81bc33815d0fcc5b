"""Cloud Monitoring's `projects.timeSeries.list` for the one metric Hangar reads: Cloud Run's
billable instance time, made up from the instances the sandbox ran (sandbox/cloud_run/instances.py).

As Google documents it (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list):
`filter` and `interval.endTime` are required, the filter names exactly one metric type, a
start after the end is refused, `pageSize` is at most 100,000 (points, with view FULL; 0
means that many), page tokens are the ones it issued, and points come newest first. The
metric (https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run):
`run.googleapis.com/container/billable_instance_time`, DELTA, DOUBLE, unit "s", on the
`cloud_run_revision` resource (labels project_id, service_name, revision_name, location,
configuration_name), "sampled every 60 seconds. After sampling, data is not visible for up
to 180 seconds" (the sandbox's `monitoring_delay`, 0 unless a test sets it).

The sandbox's limits, refused rather than guessed: only that metric; filters of `=`
comparisons joined by AND on metric.type, resource.type and resource.label(s).*; no
aggregation (raw points; a per-series aligner other than ALIGN_NONE is refused).
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from google.cloud.monitoring_v3 import ListTimeSeriesRequest, ListTimeSeriesResponse
from google.protobuf import json_format
from google.protobuf.message import Message

from sandbox.cloud_run.instances import RunInstances
from sandbox.core import errors
from sandbox.core.routing import ApiCall, Route

if TYPE_CHECKING:
    from sandbox.core.state import State

SERVICE = "monitoring.googleapis.com"
PERMISSION = "monitoring.timeSeries.list"
BILLABLE_INSTANCE_TIME = "run.googleapis.com/container/billable_instance_time"
RESOURCE_TYPE = "cloud_run_revision"
MAX_PAGE = 100_000
_TERM = re.compile(r'\s*(?P<key>[A-Za-z_][\w.]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*')


def routes() -> list[Route]:
    request = ListTimeSeriesRequest.pb()
    return [
        Route(
            "GET",
            "/v3/{name=projects/*}/timeSeries",
            list_time_series,
            request,
            PERMISSION,
            SERVICE,
            frozenset(),
        ),
    ]


def list_time_series(call: ApiCall) -> Message:
    req = call.query
    if not req.filter.strip():
        raise errors.invalid("Field filter had an invalid value: a filter is required.", "filter")
    if not req.interval.HasField("end_time"):
        raise errors.invalid("Field interval.endTime is required.", "interval.end_time")
    end = req.interval.end_time.ToDatetime(datetime.UTC).timestamp()
    start = req.interval.start_time.ToDatetime(datetime.UTC).timestamp()
    if req.interval.HasField("start_time") and start > end:
        raise errors.invalid(
            "Field interval.startTime had an invalid value: the start time must not be "
            "later than the end time.",
            "interval.start_time",
        )
    if not req.interval.HasField("start_time"):
        start = end
    if req.page_size < 0 or req.page_size > MAX_PAGE:
        raise errors.invalid(f"pageSize must be between 0 and {MAX_PAGE}.", "page_size")
    if req.aggregation.per_series_aligner or req.aggregation.cross_series_reducer:
        raise errors.invalid("The sandbox serves raw points only (no aggregation).", "aggregation")
    terms = _parse_filter(req.filter)
    points = _series(call.state, terms, start, end)
    offset = _offset(req.page_token)
    size = req.page_size or MAX_PAGE
    flat = [(i, p) for i, series in enumerate(points) for p in series["points"]]
    page = flat[offset : offset + size]
    body: dict[str, Any] = {"timeSeries": []}
    for i, series in enumerate(points):
        mine = [p for j, p in page if j == i]
        if mine:
            body["timeSeries"].append({**series, "points": mine})
    if offset + size < len(flat):
        body["nextPageToken"] = f"sbx-{offset + size}"
    out = ListTimeSeriesResponse.pb()()
    json_format.ParseDict(body, out)
    return out


def _parse_filter(text: str) -> dict[str, str]:
    terms: dict[str, str] = {}
    for part in re.split(r"\s+AND\s+", text.strip()):
        m = _TERM.fullmatch(part)
        key = m.group("key").replace("resource.label.", "resource.labels.") if m else ""
        if m is None or not (
            key in ("metric.type", "resource.type") or key.startswith("resource.labels.")
        ):
            raise errors.invalid(f"Unparseable filter: {part[:200]}", "filter")
        terms[key] = m.group("value").replace('\\"', '"')
    metric = terms.get("metric.type")
    if metric is None:
        raise errors.invalid("The filter must specify a metric type (metric.type).", "filter")
    if metric != BILLABLE_INSTANCE_TIME:
        raise errors.invalid(f"The sandbox serves only {BILLABLE_INSTANCE_TIME}.", "filter")
    return terms


def _offset(token: str) -> int:
    if not token:
        return 0
    m = re.fullmatch(r"sbx-(\d{1,9})", token)
    if m is None:
        raise errors.invalid("The page token is invalid.", "page_token")
    return int(m.group(1))


def _stamp(at: float) -> str:
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _series(state: State, terms: dict[str, str], start: float, end: float) -> list[dict[str, Any]]:
    instances = state.store(RunInstances)
    visible_until = min(end, instances.clock.now() - state.config.monitoring_delay)
    if terms.get("resource.type", RESOURCE_TYPE) != RESOURCE_TYPE:
        return []
    out = []
    for name, line in sorted(instances.timelines.items()):
        labels = {
            "project_id": state.config.project,
            "service_name": line.service_id,
            "revision_name": line.revision,
            "location": line.location,
            "configuration_name": line.service_id,
        }
        wanted = {k.removeprefix("resource.labels."): v for k, v in terms.items()}
        if any(labels.get(k, v) != v for k, v in wanted.items() if k in labels):
            continue
        if any(k not in labels for k in wanted if k not in ("metric.type", "resource.type")):
            continue
        minutes = instances.billable_minutes(
            name, state.config.run_idle_timeout, start, visible_until
        )
        if not minutes:
            continue
        points = [
            {
                "interval": {"startTime": _stamp(at - 60), "endTime": _stamp(at)},
                "value": {"doubleValue": seconds},
            }
            for at, seconds in reversed(minutes)  # newest first, as Google returns them
        ]
        out.append(
            {
                "metric": {"type": BILLABLE_INSTANCE_TIME},
                "resource": {"type": RESOURCE_TYPE, "labels": labels},
                "metricKind": "DELTA",
                "valueType": "DOUBLE",
                "unit": "s",
                "points": points,
            }
        )
    return out
