"""Cloud Logging: read a build's or a Cloud Run service's log lines, newest first.

On the official google-cloud-logging client over its JSON API (`_use_grpc=False`: the REST
`entries.list`, which the sandbox serves too). Filters follow the Logging query language
(https://cloud.google.com/logging/docs/view/logging-query-language): Cloud Build writes to
resource type `build` by build id, Cloud Run to `cloud_run_revision` by service name and
location (https://cloud.google.com/run/docs/logging).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.transport.requests import AuthorizedSession
from google.cloud import logging as cloud_logging

from gcp.clients import api_base, call_timeout, credentials, universe_domain
from gcp.settings import gcp_setting

# A page shows this many lines at most; Google's own page limit is 1000.
MAX_LINES = 200


@dataclass(frozen=True)
class LogLine:
    at: datetime | None
    severity: str
    text: str


class _BoundedSession(AuthorizedSession):
    """The client's list calls pass no timeout of their own (its default is a minute);
    a page waiting on Google waits at most our HTTP timeout."""

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        cap = call_timeout()
        kwargs["timeout"] = min(float(kwargs.get("timeout") or cap), cap)
        return super().request(method, url, *args, **kwargs)


@cache
def _client() -> Any:
    return cloud_logging.Client(
        project=gcp_setting("PROJECT"),
        credentials=credentials(),
        _http=_BoundedSession(credentials()),
        _use_grpc=False,
        # Its JSON client reads only api_endpoint, never the universe
        # (google/cloud/logging_v2/client.py), so the endpoint is spelled out.
        client_options=ClientOptions(
            api_endpoint=api_base("logging"), universe_domain=universe_domain()
        ),
    )


def build_log(*, build_name: str, limit: int = MAX_LINES) -> list[LogLine]:
    """A Cloud Build build's output; `build_name` as Cloud Build names it (…/builds/ID)."""
    build_id = build_name.rsplit("/", 1)[-1]
    return _lines(f'resource.type="build" AND resource.labels.build_id="{build_id}"', limit)


def service_log(*, service: str, region: str, limit: int = MAX_LINES) -> list[LogLine]:
    """A Cloud Run service's output and request lines, every revision."""
    return _lines(
        'resource.type="cloud_run_revision" AND '
        f'resource.labels.service_name="{service}" AND resource.labels.location="{region}"',
        limit,
    )


def _lines(filter_: str, limit: int) -> list[LogLine]:
    limit = max(1, min(limit, MAX_LINES))
    entries = _client().list_entries(
        resource_names=[f"projects/{gcp_setting('PROJECT')}"],
        filter_=filter_,
        order_by=cloud_logging.DESCENDING,
        page_size=limit,
        max_results=limit,
    )
    return [
        LogLine(at=e.timestamp, severity=str(e.severity or "DEFAULT"), text=_text(e.payload))
        for e in entries
    ]


def _text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        return str(payload.get("message") or json.dumps(payload, sort_keys=True))
    return str(payload)
