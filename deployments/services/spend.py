"""What deployments have cost: accrued by the reconciler at the approved rate.

The billing clock of a deployment starts when the step that creates its billed
resource succeeds and stops when the step that deletes it succeeds (Step.billing in
the plan). In between, the reconciler adds one CostAccrual per tick at the average
hourly rate of the estimate the deployment was approved with. Cloud Run bills real
instance-seconds, which only Cloud Monitoring knows; this is the estimate's view of it.
The reads (month to date, per deployment, per day, projected) are in deployments.selectors.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from deployments.models import CostAccrual, Deployment
from deployments.selectors import SECONDS_PER_HOUR, deployment_hourly_rate


def spend_accrue_deployment(*, deployment: Deployment, until: datetime) -> CostAccrual | None:
    """Accrue from where the clock stood to `until`; the caller holds the row lock."""
    start = deployment.cost_accrued_until
    if start is None or until <= start:
        return None
    rate = deployment_hourly_rate(deployment=deployment)
    amount = rate * Decimal((until - start).total_seconds()) / SECONDS_PER_HOUR
    accrual = CostAccrual.objects.create(
        deployment=deployment,
        team_id=deployment.team_id,
        period_start=start,
        period_end=until,
        amount=amount,
        hourly_rate=rate,
    )
    deployment.cost_accrued_until = until
    deployment.save(update_fields=["cost_accrued_until", "updated_at"])
    return accrual


def spend_accrue(*, now: datetime | None = None) -> int:
    """Accrue every deployment whose billing clock runs. Returns how many accrued."""
    now = now or timezone.now()
    accrued = 0
    ids = Deployment.objects.filter(cost_accrued_until__isnull=False).values_list("pk", flat=True)
    for pk in ids:
        with transaction.atomic():
            deployment = (
                Deployment.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if deployment and spend_accrue_deployment(deployment=deployment, until=now):
                accrued += 1
    return accrued
