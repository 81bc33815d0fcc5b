"""Rows in bulk for the pages at scale (tests/portal/test_query_counts.py and
benchmarks/web/run.py): deployments with their estimate, spend and timeline, made with
bulk_create so 10,000 of them take seconds. Each row holds what a request would have
stored (its spec's gpus_held and estimate), so the pages show real figures."""

from datetime import timedelta
from decimal import Decimal
from itertools import count as counter
from typing import Any

from django.utils import timezone

from deployments.choices import OWNER_KIND, Status
from deployments.models import CostAccrual, Deployment, DeploymentEvent
from deployments.services.estimates import estimate_for
from deployments.targets import spec_for
from metering.models import SpendDay
from runbook.models import Outcome, StepRun
from tests.factories import DeploymentFactory

BATCH = 2000
_NAMES = counter()  # slugs stay unique across calls, as live deployments' must


def fill_deployments(
    team: Any, users: list[Any], count: int, *, status: Status = Status.READY, prefix: str = "row"
) -> list[Deployment]:
    """`count` deployments of `team`, each asked for and decided by one of `users` (so a
    lookup per row would show), with the estimate and holding a request stores."""
    template: Any = DeploymentFactory.build(team=team, requested_by=users[0])
    spec = spec_for(template)
    estimate = estimate_for(target=template.target, spec=spec, busy_hours_per_day=Decimal(8))
    now = timezone.now()
    first = next(_NAMES) * 1_000_000
    return Deployment.objects.bulk_create(
        [
            Deployment(
                team=team,
                slug=f"{prefix}-{first + i}",
                target=template.target,
                model=template.model,
                region=template.region,
                gpu_type=template.gpu_type,
                gpu_count=template.gpu_count,
                spec=template.spec,
                gpus_held=spec.gpus_held,
                estimate=estimate.as_json(),
                status=status,
                endpoint_url=f"https://{prefix}-{i}.a.run.app" if status == Status.READY else "",
                requested_by=users[i % len(users)],
                decided_by=users[(i + 1) % len(users)]
                if status != Status.PENDING_APPROVAL
                else None,
                cost_accrued_until=now if status == Status.READY else None,
            )
            for i in range(count)
        ],
        batch_size=BATCH,
    )


def fill_pending(team: Any, users: list[Any], count: int) -> list[Deployment]:
    """`count` requests waiting on approval, each with the policy's event."""
    pending = fill_deployments(team, users, count, status=Status.PENDING_APPROVAL, prefix="ask")
    DeploymentEvent.objects.bulk_create(
        [
            DeploymentEvent(
                deployment=d,
                to_status=Status.PENDING_APPROVAL,
                message="Needs a platform admin: over the team's GPU quota.",
            )
            for d in pending
        ],
        batch_size=BATCH,
    )
    return pending


def fill_spend(deployments: list[Deployment], *, days: int = 1) -> None:
    """This month's estimated accrual and Google's measured, billed days for each
    deployment; none served a request, so each is idle on the team page."""
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    CostAccrual.objects.bulk_create(
        [
            CostAccrual(
                deployment=d,
                team_id=d.team_id,
                period_start=start,
                period_end=now,
                amount=Decimal("1.25"),
                hourly_rate=Decimal("0.80"),
            )
            for d in deployments
        ],
        batch_size=BATCH,
    )
    first = now.date().replace(day=1)
    SpendDay.objects.bulk_create(
        [
            SpendDay(
                deployment=d,
                team_id=d.team_id,
                day=first + timedelta(days=n),
                source="cloud-run-billable-instance-time",
                billed_seconds=Decimal(3600),
                unit_price=Decimal("0.0002"),
                price_version="2026-12-05",
                measured=Decimal("0.72"),
                estimated=Decimal("0.80"),
                measured_through=now,
                read_at=now,
            )
            for d in deployments
            for n in range(min(days, now.day))
        ],
        batch_size=BATCH,
    )


def fill_timeline(deployment: Deployment, count: int) -> None:
    """`count` rows of timeline: state changes and the step runs between them, one
    second apart, all settled."""
    start = timezone.now() - timedelta(seconds=count + 60)
    events, runs = [], []
    for i in range(count):
        at = start + timedelta(seconds=i)
        if i % 2:
            runs.append(
                StepRun(
                    owner_kind=OWNER_KIND,
                    owner_id=deployment.pk,
                    created_at=at,
                    phase="deploy",
                    attempt=i,
                    step="deploy_service",
                    outcome=Outcome.SUCCEEDED,
                    started_at=at,
                    finished_at=at + timedelta(milliseconds=500),
                )
            )
        else:
            events.append(
                DeploymentEvent(
                    deployment=deployment,
                    from_status=Status.DEPLOYING,
                    to_status=Status.DEPLOYING,
                    message=f"attempt {i}",
                )
            )
    created = DeploymentEvent.objects.bulk_create(events, batch_size=BATCH)
    # auto_now_add stamps every event now: spread them over the run's seconds instead.
    for n, event in enumerate(created):
        event.created_at = start + timedelta(seconds=2 * n)
    DeploymentEvent.objects.bulk_update(created, ["created_at"], batch_size=BATCH)
    StepRun.objects.bulk_create(runs, batch_size=BATCH)
