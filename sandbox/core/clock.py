"""Time in the sandbox: the clock a test can stop and move, and wall-clock timestamps.

`Clock` is the wall clock until a test sets it (`POST /_sandbox/clock`): then it stands
still and moves only when told, so a day of busy, idle and scaled-to-zero periods is
played in milliseconds. Cloud Run's instances run on it (sandbox/cloud_run/instances.py),
Cloud Monitoring reads by it and Autopilot nodes live by it (sandbox/kube/nodes.py).
Resources are stamped with the wall clock (`timestamp_now`), as Google stamps them.
"""

from __future__ import annotations

import time

from google.protobuf import timestamp_pb2


class Clock:
    def __init__(self) -> None:
        self.frozen_at: float | None = None

    def now(self) -> float:
        return time.time() if self.frozen_at is None else self.frozen_at

    def set(self, at: float) -> None:
        self.frozen_at = at

    def advance(self, seconds: float) -> None:
        self.frozen_at = self.now() + seconds

    def reset(self) -> None:
        self.frozen_at = None


def timestamp_now() -> timestamp_pb2.Timestamp:
    """The wall clock as a protobuf Timestamp: a resource's create, update, finish time."""
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts
