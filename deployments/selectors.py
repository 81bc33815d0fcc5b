"""Reads shared by the pages and the API: what a user may see, and what it has cost."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    DecimalField,
    Func,
    Min,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from deployments.choices import OWNER_KIND, TERMINAL_STATES, Status
from deployments.models import CostAccrual, Deployment, DeploymentEvent
from deployments.pricing.estimator import HOURS_PER_MONTH, Estimate
from portal.access import is_platform_admin, teams_visible_to
from portal.exceptions import NotFound
from portal.models import ApiToken
from runbook.ledger import runs_of
from runbook.models import IN_FLIGHT_OUTCOMES, Outcome, StepRun


def deployment_list(*, user: Any, token: ApiToken | None = None) -> QuerySet[Deployment]:
    """Deployments of the user's teams; platform admins (without a token) see all. Each
    comes with the deployments that run on it (`dependents`), read once for a page."""
    deployments = Deployment.objects.select_related(
        "team", "requested_by", "decided_by"
    ).prefetch_related(Prefetch("dependents", queryset=Deployment.objects.order_by("pk")))
    if token is None and is_platform_admin(user):
        return deployments
    return deployments.filter(team__in=teams_visible_to(user=user, token=token))


def deployment_get(*, user: Any, pk: int, token: ApiToken | None = None) -> Deployment:
    """One visible deployment; another team's is reported as missing, not forbidden."""
    deployment = deployment_list(user=user, token=token).filter(pk=pk).first()
    if deployment is None:
        raise NotFound(f"No deployment {pk} among those you can see.")
    return deployment


def deployment_request_values(*, deployment: Deployment) -> dict[str, Any]:
    """A request form's values for asking again what `deployment` asked (edit and resubmit).

    The name is kept when it is free again (a rejected request's is); otherwise the first
    free `<name>-N` is offered, since a failed deployment still holds its name.
    """
    from deployments.targets import spec_for

    spec = spec_for(deployment)
    return {
        **{name: getattr(spec, name) for name in type(spec).field_names()},
        "target": deployment.target,
        "team": deployment.team_id,
        "slug": _free_slug(deployment.slug),
        "justification": deployment.justification,
        "busy_hours_per_day": deployment.busy_hours_per_day,
    }


def _free_slug(slug: str) -> str:
    head, _, tail = slug.rpartition("-")
    stem = head if head and tail.isdigit() else slug
    live = set(
        Deployment.objects.filter(slug__startswith=stem)
        .exclude(status__in=[s.value for s in TERMINAL_STATES])
        .values_list("slug", flat=True)
    )
    if slug not in live:
        return slug
    for n in range(2, 1000):
        candidate = f"{stem[: 39 - len(str(n))].rstrip('-')}-{n}"
        if candidate not in live:
            return candidate
    return slug


def deployment_pending_approval() -> QuerySet[Deployment]:
    """Requests waiting on a decision, oldest first, each with `policy`: its first event's
    message (what the approval policy said of it)."""
    first_event = DeploymentEvent.objects.filter(deployment=OuterRef("pk")).order_by(
        "created_at", "pk"
    )
    return (
        Deployment.objects.filter(status=Status.PENDING_APPROVAL)
        .select_related("team", "requested_by")
        .annotate(policy=Subquery(first_event.values("message")[:1]))
        .order_by("created_at", "pk")
    )


def deployment_timeline(*, deployment: Deployment) -> list[DeploymentEvent | StepRun]:
    """Its state changes and the runs of its plans' steps, oldest first: two tables (the
    engine keeps one ledger for every owner), one timeline."""
    return _timeline(deployment.events.all(), runs_of(OWNER_KIND, deployment.pk))


def _timeline(events: Any, runs: Any) -> list[DeploymentEvent | StepRun]:
    rows: list[DeploymentEvent | StepRun] = [*events.select_related("actor"), *runs]
    return sorted(rows, key=lambda row: (row.created_at, row.kind != "transition", row.pk))


def deployment_timeline_keys(*, deployment: Deployment, newest_first: bool = False) -> Any:
    """(created_at, pk, row kind) of every row of the timeline, in the timeline's order
    (or its reverse), as one SQL union of both tables: a page of it is cut in SQL and its
    rows read by `deployment_timeline_rows`. At one time a state change comes first."""
    events = deployment.events.annotate(row_kind=Value("transition")).values_list(
        "created_at", "pk", "row_kind"
    )
    runs = (
        runs_of(OWNER_KIND, deployment.pk)
        .annotate(row_kind=Value("step"))
        .values_list("created_at", "pk", "row_kind")
    )
    order = (
        ("-created_at", "row_kind", "-pk") if newest_first else ("created_at", "-row_kind", "pk")
    )
    return events.union(runs, all=True).order_by(*order)


def deployment_timeline_rows(
    *, deployment: Deployment, keys: Iterable[tuple[datetime, int, str]]
) -> list[DeploymentEvent | StepRun]:
    """The rows `keys` (from deployment_timeline_keys) name, oldest first."""
    ids: dict[str, set[int]] = {"transition": set(), "step": set()}
    for _, pk, kind in keys:
        ids[kind].add(pk)
    return _timeline(
        deployment.events.filter(pk__in=ids["transition"]),
        runs_of(OWNER_KIND, deployment.pk).filter(pk__in=ids["step"]),
    )


def deployment_timeline_page(*, deployment: Deployment, number: Any, size: int) -> Page:
    """One page of the timeline, newest page first, its rows oldest first: the page is
    picked over both tables in SQL (a union of times and ids), then its rows are read."""
    keys = deployment_timeline_keys(deployment=deployment, newest_first=True)
    page = Paginator(keys, size).get_page(number)
    rows = deployment_timeline_rows(deployment=deployment, keys=page.object_list)
    return Page(rows, page.number, page.paginator)


def deployment_timeline_since(
    *, deployment: Deployment, since: datetime
) -> list[DeploymentEvent | StepRun]:
    """The timeline's rows written at or after `since`, oldest first: what a page that
    holds the rows before it lacks."""
    return _timeline(
        deployment.events.filter(created_at__gte=since),
        runs_of(OWNER_KIND, deployment.pk).filter(created_at__gte=since),
    )


# A row becomes visible when its transaction commits, a moment after the time it carries;
# rows younger than this are sent again, so one committed late is never skipped.
TIMELINE_SETTLE = timedelta(seconds=10)


def deployment_timeline_cursor(*, deployment: Deployment, now: datetime) -> datetime:
    """From when a client holding the timeline up to `now` must ask again: rows that may
    still appear (younger than TIMELINE_SETTLE) or still change (a step in flight)."""
    in_flight = (
        runs_of(OWNER_KIND, deployment.pk)
        .filter(outcome__in=IN_FLIGHT_OUTCOMES)
        .aggregate(first=Min("created_at"))["first"]
    )
    return min(now - TIMELINE_SETTLE, in_flight or now)


def step_usual_durations(*, target: str, sample: int = 20) -> dict[tuple[str, str], timedelta]:
    """How long each (phase, step) of a target usually takes: the median of its last
    `sample` successful runs, for the timeline's "usually about …"."""
    from statistics import median

    runs = (
        StepRun.objects.filter(
            owner_kind=OWNER_KIND,
            owner_id__in=Deployment.objects.filter(target=target).values("pk"),
            outcome=Outcome.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("phase", "step", "started_at", "finished_at")[: sample * 30]
    )
    seconds: dict[tuple[str, str], list[float]] = {}
    for phase, step, started, finished in runs:
        taken = seconds.setdefault((phase, step), [])
        if len(taken) < sample and started and finished:
            taken.append((finished - started).total_seconds())
    return {key: timedelta(seconds=median(values)) for key, values in seconds.items()}


def deployment_review_facts_of(deployments: Sequence[Deployment]) -> dict[int, dict[str, Any]]:
    """What an approver weighs, per request: the stored estimate, and the quotas before
    and after (read for every request at once: deployments.services.quotas)."""
    from deployments.services.quotas import quota_checks_of

    quotas = quota_checks_of(deployments)
    return {
        d.pk: {
            "estimate": Estimate.from_json(d.estimate) if d.estimate else None,
            "quota": quotas[d.pk],
        }
        for d in deployments
    }


def deployment_cost_facts(*, deployment: Deployment) -> dict[str, Any]:
    """What the deployment was approved to cost, what it has cost, and per token served.

    Token counts come from the playground's usage records (the `usage_records` relation);
    estimated counts are included and flagged.
    """
    from django.db.models import Count, Q, Sum

    from deployments.models import CostAccrual
    from deployments.pricing.estimator import Estimate

    accrued = CostAccrual.objects.filter(deployment=deployment).aggregate(total=Sum("amount"))
    total_cost = accrued["total"] or Decimal(0)
    usage = getattr(deployment, "usage_records", None)
    tokens = {"prompt": 0, "completion": 0, "estimated": 0}
    if usage is not None:
        sums = usage.aggregate(
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            estimated=Count("id", filter=Q(estimated=True)),
        )
        tokens = {key: sums[key] or 0 for key in tokens}
    served = tokens["prompt"] + tokens["completion"]
    return {
        "estimate": Estimate.from_json(deployment.estimate) if deployment.estimate else None,
        "month_to_date": spend_month_to_date(deployment=deployment),
        "total_cost": total_cost,
        "tokens": tokens,
        "tokens_served": served,
        "cost_per_million_tokens": total_cost * 1_000_000 / served if served else None,
        "billing": deployment.cost_accrued_until is not None,
        "hourly": deployment_hourly_rate(deployment=deployment),
    }


# Spend: the cost accruals deployments.services.spend writes, read back per team,
# deployment and day, and projected to the end of the month.

SECONDS_PER_HOUR = Decimal(3600)


def deployment_hourly_rate(*, deployment: Deployment) -> Decimal:
    """The average hourly rate of the estimate the deployment was approved with."""
    if not deployment.estimate:
        return Decimal(0)
    return Estimate.from_json(deployment.estimate).average_hourly


def deployment_still_billed(*, deployment: Deployment) -> dict[str, Any] | None:
    """What Google still bills a failed deployment for, and at what hourly rate: the
    resource its plan's billing step made, until a tear down deletes it (None when
    nothing billed is held). The rate is the one the spend clock accrues."""
    if deployment.status != Status.FAILED or deployment.cost_accrued_until is None:
        return None
    from deployments.choices import Phase
    from deployments.plans import plan_for

    steps = plan_for(deployment, Phase.DEPLOY).steps
    billed = next((step.title for step in steps if step.billing == "starts"), "")
    return {"what": billed, "hourly": deployment_hourly_rate(deployment=deployment)}


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spend_month_to_date(
    *, team: Any = None, deployment: Any = None, now: datetime | None = None
) -> Decimal:
    accruals = CostAccrual.objects.filter(period_end__gte=_month_start(now or timezone.now()))
    if team is not None:
        accruals = accruals.filter(team=team)
    if deployment is not None:
        accruals = accruals.filter(deployment=deployment)
    return accruals.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def spend_projected_month(*, team: Any, now: datetime | None = None) -> Decimal:
    """Month-to-date spend plus what the team's running deployments will add by month end."""
    now = now or timezone.now()
    coming = spend_coming_by_team(team_ids=[team.pk], now=now).get(team.pk, Decimal(0))
    return spend_month_to_date(team=team, now=now) + coming


def spend_coming_by_team(
    *, team_ids: Iterable[int], now: datetime | None = None
) -> dict[int, Decimal]:
    """What each team's running deployments will add by month end, each at the average
    hourly rate of the estimate it was approved with (deployment_hourly_rate), summed in
    one query: the rate is the estimate's monthly figure over the month's hours."""
    hours_left = hours_left_in_month(now or timezone.now())
    monthly = Func(
        KeyTextTransform("monthly", "estimate"),
        template="CAST(%(expressions)s AS numeric)",
        output_field=DecimalField(),
    )
    rows = (
        Deployment.objects.filter(team_id__in=list(team_ids))
        .exclude(estimate=None)
        .exclude(status__in=[s.value for s in TERMINAL_STATES])
        .values("team_id")
        .annotate(monthly=Sum(monthly))
    )
    return {
        row["team_id"]: Decimal(row["monthly"] or 0) / HOURS_PER_MONTH * hours_left for row in rows
    }


def hours_left_in_month(now: datetime) -> Decimal:
    next_month = (_month_start(now) + timedelta(days=32)).replace(day=1)
    return Decimal((next_month - now).total_seconds()) / SECONDS_PER_HOUR


# A GKE target stores the id of the cluster it runs on under this spec key.
SPEC_CLUSTER_KEY = "cluster"


def deployments_on_cluster(cluster: Any) -> list[str]:
    """Deployments that run on the cluster or may still (anything not torn down or
    rejected), by name: what keeps a cluster from being removed."""
    live = Deployment.objects.filter(**{f"spec__{SPEC_CLUSTER_KEY}": cluster.pk}).exclude(
        status__in=[s.value for s in TERMINAL_STATES]
    )
    return list(live.values_list("slug", flat=True))
