"""The counters, gauges and histograms Hangar's processes update (multiprocess mode: see
the package docstring). Each is defined once here; the code that measures imports it."""

import atexit
import os

from prometheus_client import Counter, Gauge, Histogram, multiprocess

ADVANCE_TASKS = Counter(
    "hangar_advance_tasks",
    "Advance tasks that claimed a rollout step, by step and the action it runs (the action "
    "names the API: cloud_run.apply_service, kube.apply...).",
    ["step", "action"],
)
PROXY_STREAMS_OPEN = Gauge(
    "hangar_proxy_streams_open",
    "Proxied requests to deployed endpoints with their upstream response open.",
    multiprocess_mode="livesum",
)
PROXY_TTFT = Histogram(
    "hangar_proxy_time_to_first_token_seconds",
    "From the proxy receiving a chat to the endpoint's first token.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
PROXY_UPSTREAM_ERRORS = Counter(
    "hangar_proxy_upstream_errors",
    "Proxied requests the endpoint failed, by its HTTP status (or timeout, unreachable).",
    ["upstream_status"],
)


def _forget_this_process() -> None:
    # A live gauge of an exited process must not count any more (its streams are gone).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())


atexit.register(_forget_this_process)
