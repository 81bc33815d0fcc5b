"""Reads for the portal-wide pages: teams with their spend, the audit trail, whether a
team has a Hugging Face token."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from portal.access import is_platform_admin
from portal.models import ApiToken, AuditEvent, Membership, Team, TeamHfSecret


def team_list_for(*, user: Any) -> QuerySet[Team]:
    """The user's teams; platform admins see every team."""
    if is_platform_admin(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user).distinct()


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("user__username")


def team_tokens(*, team: Team) -> QuerySet[ApiToken]:
    return team.api_tokens.select_related("owner").order_by("-created_at")


def hf_token_status(*, team: Team) -> TeamHfSecret | None:
    """Whether the team has a token, where, and since when (never the token)."""
    return TeamHfSecret.objects.filter(team=team).select_related("set_by").first()


def budget_status(
    *, budget: Decimal | None, spent: Decimal, projected: Decimal | None = None
) -> dict[str, Any]:
    """Spend against a budget: the ratio, whether it is close, and whether the projection
    (when given) goes over it, so a page can warn before the month runs out."""
    ratio = (spent / budget) if budget else None
    close = ratio is not None and ratio >= Decimal(str(settings.GOVERNANCE["BUDGET_WARNING_RATIO"]))
    over = budget is not None and projected is not None and projected > budget > 0
    return {
        "budget": budget,
        "spent": spent,
        "ratio": ratio,
        "close": close,
        "projected": projected,
        "projected_over": over,
    }


def audit_events(
    *,
    action: str = "",
    team: str = "",
    actor: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor", "actor_token", "team")
    if action:
        events = events.filter(action__icontains=action)
    if team:
        events = events.filter(team__slug=team)
    if actor:
        events = events.filter(actor__username=actor)
    if since:
        events = events.filter(created_at__date__gte=since)
    if until:
        events = events.filter(created_at__date__lte=until)
    return events
