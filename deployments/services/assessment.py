"""What a request would cost and whether the approval policy would let it through.

The estimate page, the estimate API and deployment_request() weigh a request the same
way: price it, hold it against the project's and the team's GPU quotas, the team's
auto-approval limit and its monthly budget, and let the approval policy decide.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from deployments.models import Deployment
from deployments.pricing.estimator import Estimate, cents
from deployments.pricing.money import usd
from deployments.selectors import hours_left_in_month
from deployments.services.estimates import estimate_for
from deployments.services.google_capacity import Source
from deployments.services.policy import Decision, approval_decision
from deployments.services.quotas import QuotaCheck, quota_check
from deployments.services.team_spend import team_spend
from portal.models import Team


@dataclass(frozen=True)
class RequestAssessment:
    """Everything the approval policy looked at, for the form, the queue and the API."""

    estimate: Estimate
    quota: QuotaCheck
    projected_month: Decimal
    decision: Decision


def deployment_assess(
    *,
    team: Team,
    target: str,
    spec: Any,
    busy_hours_per_day: Decimal,
    exclude: Deployment | None = None,
    lock: bool = False,
) -> RequestAssessment:
    """Price the request and hold it against quotas, the cost limit and the budget."""
    estimate = estimate_for(target=target, spec=spec, busy_hours_per_day=busy_hours_per_day)
    quota = quota_check(
        team=team,
        region=spec.region,
        gpu_type=spec.gpu_type,
        requested=spec.gpus_held,
        exclude=exclude,
        lock=lock,
    )
    now = timezone.now()
    # Measured spend where Google measured it, the estimate elsewhere (team_spend.py).
    spend = team_spend(team=team, now=now)
    projected = spend.projected
    if exclude is None:
        projected += estimate.average_hourly * hours_left_in_month(now)
    budget = None if team.monthly_budget is None else cents(Decimal(team.monthly_budget))
    limit = cents(Decimal(team.auto_approve_monthly_limit))
    gpu = spec.gpu_type
    # Where a capacity not recorded by an admin came from (Google's, read when), for people.
    source = "" if quota.capacity_source == Source.RECORDED else f" ({quota.capacity_note()})"
    decision = approval_decision(
        fits_project=quota.fits_project,
        fits_team_quota=quota.fits_team,
        under_cost_limit=estimate.monthly <= limit,
        within_budget=budget is None or projected <= budget,
        capacity_known=quota.capacity_known,
        explain={
            "capacity": (
                f"the project's {gpu} capacity in {quota.region} is {quota.capacity_note()}"
            ),
            "project": (
                f"The project can hold {quota.project_capacity} × {gpu} in {quota.region}{source}"
                f"; {quota.project_used} are taken, and this request needs {quota.requested}."
            ),
            "team_quota": (
                f"over the team's {gpu} quota ({quota.team_after} of {quota.team_quota} with "
                "this request)"
            ),
            "cost_limit": (
                f"{usd(estimate.monthly)}/month is over the team's auto-approval limit of "
                f"{usd(limit)}/month"
            ),
            "budget": (
                f"would bring the team's month to {usd(projected)} ({spend.basis} so far) "
                f"against a budget of {usd(budget)}"
            ),
            "auto": (
                (
                    "holds no GPU of its own"
                    if not quota.requested
                    else f"within the team's {gpu} quota ({quota.team_after} of {quota.team_quota})"
                )
                + f", {usd(estimate.monthly)}/month under the {usd(limit)} limit"
            ),
        },
    )
    return RequestAssessment(estimate, quota, projected, decision)
