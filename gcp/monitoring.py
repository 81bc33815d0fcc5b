"""Cloud Monitoring: how many instance-seconds Google bills a Cloud Run service for.

Reads `run.googleapis.com/container/billable_instance_time`
(https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run): DELTA, DOUBLE, unit "s",
on the `cloud_run_revision` resource, one series per revision, "sampled every 60 seconds.
After sampling, data is not visible for up to 180 seconds". Each point is the billable
seconds of every instance of the revision over its minute, so a day's seconds are the sum
of the points that end within it (a point ending at midnight belongs to the day before).
GPU services are instance-billed, so this counts idle instances too.

google-cloud-monitoring's MetricServiceClient speaks gRPC only; like gcp/iam.py, this
sends the documented REST call (`GET v3/projects/P/timeSeries`,
https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list) with the
same credentials, endpoint override and errors as every client, and reads the answer into
the library's own ListTimeSeriesResponse.
"""

from datetime import datetime
from decimal import Decimal

from google.api_core import exceptions as gexc
from google.auth.transport.requests import AuthorizedSession
from google.cloud.monitoring_v3 import ListTimeSeriesResponse

from gcp.clients import api_base, call_timeout, credentials
from gcp.settings import gcp_setting

BILLABLE_INSTANCE_TIME = "run.googleapis.com/container/billable_instance_time"
# A day of one revision is 1,440 points; pages stop a service with many revisions (or a
# misbehaving server) from making the read unbounded.
PAGE_SIZE = 10_000
MAX_PAGES = 50


def billable_instance_seconds(
    *, service: str, region: str, start: datetime, end: datetime
) -> Decimal:
    """The billable instance-seconds of every revision of `service` whose samples end in
    (start, end]; exact as Google reports them (sums of decimals, not floats)."""
    filter_ = (
        f'metric.type = "{BILLABLE_INSTANCE_TIME}" AND resource.type = "cloud_run_revision" '
        f'AND resource.labels.service_name = "{service}" '
        f'AND resource.labels.location = "{region}"'
    )
    params = {
        "filter": filter_,
        "interval.startTime": _stamp(start),
        "interval.endTime": _stamp(end),
        "view": "FULL",
        "pageSize": str(PAGE_SIZE),
    }
    total = Decimal(0)
    for _ in range(MAX_PAGES):
        page = _list(params)
        for series in page.time_series:
            for point in series.points:
                ends = point.interval.end_time
                if start < ends <= end:
                    # str() keeps what Google sent (0.1 s steps) without binary fractions.
                    total += Decimal(str(point.value.double_value))
        if not page.next_page_token:
            return total
        params["pageToken"] = page.next_page_token
    raise gexc.ServiceUnavailable(f"Cloud Monitoring returned more than {MAX_PAGES} pages.")


def _list(params: dict[str, str]) -> ListTimeSeriesResponse:
    response = AuthorizedSession(credentials()).get(
        f"{api_base('monitoring')}/v3/projects/{gcp_setting('PROJECT')}/timeSeries",
        params=params,
        timeout=call_timeout(),
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)
    return ListTimeSeriesResponse.from_json(response.content, ignore_unknown_fields=True)


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
