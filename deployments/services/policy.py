"""When a request may go ahead without an admin: one pure function, pinned by a table test."""

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    REFUSED = "refused"
    AUTO_APPROVED = "auto_approved"
    NEEDS_APPROVAL = "needs_approval"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: list[str] = field(default_factory=list)


def approval_decision(
    *,
    fits_project: bool,
    fits_team_quota: bool,
    under_cost_limit: bool,
    within_budget: bool,
    explain: dict[str, str] | None = None,
    capacity_known: bool = True,
) -> Decision:
    """Over the project's capacity is refused outright (Google would refuse it too);
    otherwise it is approved automatically only if every team limit holds and the project's
    capacity is known (an unknown one is an admin's call, never "unlimited")."""
    explain = explain or {}
    if not fits_project:
        return Decision(Outcome.REFUSED, [explain.get("project", "over the project's capacity")])
    reasons = [
        explain.get(key, default)
        for key, ok, default in (
            ("capacity", capacity_known, "the project's GPU capacity is unknown"),
            ("team_quota", fits_team_quota, "over the team's GPU quota"),
            ("cost_limit", under_cost_limit, "over the team's auto-approval limit"),
            ("budget", within_budget, "would take the team over its monthly budget"),
        )
        if not ok
    ]
    if reasons:
        return Decision(Outcome.NEEDS_APPROVAL, reasons)
    return Decision(
        Outcome.AUTO_APPROVED,
        [explain.get("auto", "within the team's GPU quota, cost limit and budget")],
    )
