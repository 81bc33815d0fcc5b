"""Deployments that outlive their time: warned ahead, torn down after, on the record."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment
from deployments.services.lifecycle import deployment_expire
from portal.audit import audit_record
from portal.notifications import notify

# A deployment in these states still holds, or is about to hold, GPUs.
EXPIRABLE = [
    s.value
    for s in (
        Status.PENDING_APPROVAL,
        Status.APPROVED,
        Status.DEPLOYING,
        Status.READY,
        Status.FAILED,
    )
]


@dataclass(frozen=True)
class ExpiryRun:
    warned: int
    expired: int


def _detail_link(deployment: Deployment) -> str:
    return reverse("deployments:detail", args=[deployment.pk])


def expiry_run(*, now: datetime) -> ExpiryRun:
    warn_before = timedelta(hours=settings.GOVERNANCE["EXPIRY_WARNING_HOURS"])
    warned = expired = 0
    soon = Deployment.objects.filter(
        status__in=EXPIRABLE,
        expires_at__gt=now,
        expires_at__lte=now + warn_before,
        expiry_warned_at__isnull=True,
    )
    for deployment in soon:
        with transaction.atomic():
            deployment.expiry_warned_at = now
            deployment.save(update_fields=["expiry_warned_at", "updated_at"])
            left = deployment.expires_at - now if deployment.expires_at else warn_before
            hours = max(1, round(left.total_seconds() / 3600))
            message = (
                f"{deployment.slug} expires in about {hours} h "
                f"({deployment.expires_at:%Y-%m-%d %H:%M} UTC) and will then be torn down."
            )
            notify(
                user=deployment.requested_by,
                team=deployment.team,
                subject=f"{deployment.slug} expires soon",
                message=message,
                link=_detail_link(deployment),
            )
            audit_record(
                action="deployment.expiry_warning",
                obj=deployment,
                team=deployment.team,
                reason=message,
            )
        warned += 1
    for deployment in Deployment.objects.filter(status__in=EXPIRABLE, expires_at__lte=now):
        deployment_expire(deployment=deployment, now=now)
        expired += 1
    return ExpiryRun(warned=warned, expired=expired)
