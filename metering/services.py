"""Writes of the measured spend ledger: read Google's billed time per deployment and day
(its meter first observes what it must record itself, a GKE deployment's nodes), price
it, and upsert the day beside what the estimate accrued over it."""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from deployments.models import CostAccrual, Deployment
from deployments.pricing.estimator import SECONDS_PER_HOUR, cents
from metering.meters import Meter, meter_for
from metering.models import SpendDay

log = logging.getLogger(__name__)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class MeasureResult:
    days_read: int = 0
    failed: int = 0


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + DAY


def spend_measure(*, now: datetime | None = None) -> MeasureResult:
    """Read every unsettled day of every metered deployment that has been billed."""
    now = now or timezone.now()
    read = failed = 0
    billed = CostAccrual.objects.values_list("deployment_id", flat=True).distinct()
    ids = set(billed) | set(
        Deployment.objects.filter(cost_accrued_until__isnull=False).values_list("pk", flat=True)
    )
    for deployment in Deployment.objects.filter(pk__in=ids).select_related("team"):
        meter = meter_for(deployment)
        if meter is None:
            continue
        days = _open_days(deployment, now, billed_until=meter.billed_until())
        if not days:
            continue
        try:
            meter.observe(now)
        except (gexc.GoogleAPICallError, auth_exc.GoogleAuthError, OSError) as exc:
            log.warning("observing %s failed: %s", deployment.slug, exc)
            failed += 1
            continue
        for day in days:
            try:
                spend_day_measure(deployment=deployment, meter=meter, day=day, now=now)
                read += 1
            except (gexc.GoogleAPICallError, auth_exc.GoogleAuthError, OSError) as exc:
                # The next tick reads the day again; nothing was written.
                log.warning("measuring %s on %s failed: %s", deployment.slug, day, exc)
                failed += 1
    return MeasureResult(days_read=read, failed=failed)


def _open_days(
    deployment: Deployment, now: datetime, *, billed_until: datetime | None = None
) -> list[date]:
    """Days from the first billed moment to the last (or now), not yet final. A torn-down
    deployment's last billed moment is when its estimate stopped, or later when the meter
    saw it billed later (a GKE node outlives its pod until the autoscaler removes it)."""
    span = CostAccrual.objects.filter(deployment=deployment).aggregate(
        first=Min("period_start"), last=Max("period_end")
    )
    first = span["first"] or deployment.cost_accrued_until
    if first is None:
        return []
    last = now if deployment.cost_accrued_until is not None else (span["last"] or now)
    if billed_until is not None:
        last = max(last, billed_until)
    final = set(
        SpendDay.objects.filter(deployment=deployment, final=True).values_list("day", flat=True)
    )
    days = []
    day = first.astimezone(UTC).date()
    while day <= min(last, now).astimezone(UTC).date():
        if day not in final:
            days.append(day)
        day += DAY
    return days


def spend_day_measure(
    *, deployment: Deployment, meter: Meter, day: date, now: datetime
) -> SpendDay:
    """Read and record one day: Google's billed seconds up to now (or the day's end)."""
    start, end = day_bounds(day)
    through = min(end, now)
    seconds = meter.billed_seconds(start=start, end=through)
    settled = now >= end + timedelta(seconds=settings.METERING["SETTLE_SECONDS"])
    return spend_day_record(
        deployment=deployment,
        meter=meter,
        day=day,
        seconds=seconds,
        through=through,
        final=settled,
        now=now,
    )


def spend_day_record(
    *,
    deployment: Deployment,
    meter: Meter,
    day: date,
    seconds: Decimal,
    through: datetime,
    final: bool,
    now: datetime,
) -> SpendDay:
    """Upsert the day's measured seconds. A read that covered less of the day than the one
    already recorded (a slow read landing after a newer one) changes nothing."""
    values = {
        "team_id": deployment.team_id,
        "source": meter.source,
        "billed_seconds": seconds,
        "unit_price": meter.unit_price,
        "price_version": meter.price_version,
        "measured": cents(seconds * meter.unit_price),
        "estimated": cents(estimated_on(deployment=deployment, day=day)),
        "measured_through": through,
        "final": final,
        "read_at": now,
    }
    with transaction.atomic():
        SpendDay.objects.bulk_create(
            [SpendDay(deployment=deployment, day=day, **values)], ignore_conflicts=True
        )
        row = SpendDay.objects.select_for_update().get(deployment=deployment, day=day)
        if row.final or through < row.measured_through:
            return row
        for key, value in values.items():
            setattr(row, key, value)
        row.save()
        return row


def estimated_on(*, deployment: Deployment, day: date) -> Decimal:
    """What the estimate accrued within the day: each accrual's rate over its overlap."""
    start, end = day_bounds(day)
    total = Decimal(0)
    accruals = CostAccrual.objects.filter(
        deployment=deployment, period_start__lt=end, period_end__gt=start
    )
    for accrual in accruals:
        overlap = min(accrual.period_end, end) - max(accrual.period_start, start)
        total += accrual.hourly_rate * Decimal(overlap.total_seconds()) / SECONDS_PER_HOUR
    return total
