"""The project's GPU quota per region as Google states it, for where no capacity is recorded.

Read from Cloud Quotas (quotaInfos.get, the read the preflight makes: gcp/project_checks.py)
and cached, so a request is weighed without waiting on Google each time: one read answers
every region of a GPU type, a fresh value is reused for FRESH_SECONDS, a slow or failing
read gives up after READ_TIMEOUT_SECONDS and the last value read is used with its age.
With nothing read at all the capacity is "unknown", never "unlimited": the request then
waits for an admin (assessment.py).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from requests import RequestException

from gcp import project_checks

# How long a value read from Google is used before it is read again.
FRESH_SECONDS = 600
# A failed read is not retried by every request that follows it within this time.
RETRY_AFTER_SECONDS = 60
# Kept short: a person waits on the estimate page while this runs.
READ_TIMEOUT_SECONDS = 3.0
# How long a read value is kept at all, to fall back on when Google is unreachable.
KEPT_SECONDS = 7 * 24 * 3600


class Source:
    RECORDED = "recorded"  # a platform admin recorded it (ProjectGpuCapacity)
    GOOGLE = "google"  # read from Google's Cloud Quotas
    UNKNOWN = "unknown"  # Google's could not be read: nothing is assumed
    UNTRACKED = "untracked"  # Hangar knows no Google quota for this GPU type
    ALL = (RECORDED, GOOGLE, UNKNOWN, UNTRACKED)


@dataclass(frozen=True)
class GoogleCapacity:
    source: str  # Source.GOOGLE, UNKNOWN or UNTRACKED
    max_gpus: int | None  # None unless read; Google's -1 (unlimited) is kept as None
    read_at: datetime | None = None
    error: str = ""

    def age_seconds(self, now: datetime | None = None) -> int | None:
        if self.read_at is None:
            return None
        return int(((now or timezone.now()) - self.read_at).total_seconds())


def _key(gpu_type: str) -> str:
    return f"google-gpu-quota:{settings.GCP['PROJECT']}:{gpu_type}"


def _read(quota_id: str) -> dict[str, int]:
    return project_checks.quota_by_region(
        settings.GCP["PROJECT"],
        project_checks.service_name("run"),
        quota_id,
        timeout=READ_TIMEOUT_SECONDS,
    )


def _kept_read(gpu_type: str, quota_id: str) -> dict[str, Any]:
    """The cached read of every region's quota for the GPU type (values, read_at, and
    tried_at and error of the last attempt), read again once it is stale."""
    kept: dict[str, Any] = cache.get(_key(gpu_type)) or {}
    now = timezone.now()
    last_try = kept.get("tried_at")
    read_at = kept.get("read_at")
    fresh = read_at is not None and (now - read_at).total_seconds() < FRESH_SECONDS
    recently_failed = (
        last_try is not None and (now - last_try).total_seconds() < RETRY_AFTER_SECONDS
    )
    if fresh or recently_failed:
        return kept
    try:
        values = _read(quota_id)
    except (gexc.GoogleAPIError, auth_exc.GoogleAuthError, RequestException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        kept = {**kept, "tried_at": now, "error": error}
    else:
        kept = {"values": values, "read_at": now, "tried_at": now, "error": ""}
    cache.set(_key(gpu_type), kept, KEPT_SECONDS)
    return kept


def google_capacity(*, region: str, gpu_type: str) -> GoogleCapacity:
    """The project's quota for the GPU type in the region, as Google last stated it."""
    quota_id = project_checks.CLOUD_RUN_GPU_QUOTAS.get(gpu_type)
    if quota_id is None:
        return GoogleCapacity(Source.UNTRACKED, None)
    kept = _kept_read(gpu_type, quota_id)
    read_at, error = kept.get("read_at"), kept.get("error", "")
    if read_at is None:
        return GoogleCapacity(Source.UNKNOWN, None, error=error or "never read")
    # A region Google does not list holds none of that GPU (quotaInfos lists every region
    # the quota applies in); -1 is Google's "unlimited".
    value = kept.get("values", {}).get(region, 0)
    return GoogleCapacity(Source.GOOGLE, None if value < 0 else value, read_at, error)
