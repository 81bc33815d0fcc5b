"""Who may see and do what: the team and role checks every interface shares."""

from typing import Any

from django.db.models import QuerySet

from portal.exceptions import PermissionDenied, ValidationFailed
from portal.models import ROLE_RANK, ApiToken, Membership, Role, Team

APPROVE_PERMISSION = "deployments.approve_deployment"


def is_platform_admin(user: Any) -> bool:
    return bool(user.is_active and user.has_perm(APPROVE_PERMISSION))


def teams_visible_to(*, user: Any, token: ApiToken | None = None) -> QuerySet[Team]:
    """A token narrows its owner's teams to the token's own team."""
    teams = Team.objects.filter(memberships__user=user)
    if token is not None:
        # An approval token belongs to no team, so it sees none.
        teams = teams.filter(pk=token.team_id) if token.team_id is not None else teams.none()
    return teams.distinct()


def team_visible(*, user: Any, slug: str, token: ApiToken | None = None) -> Team:
    """One of the user's teams by slug; naming another team is a mistake in the request."""
    team = teams_visible_to(user=user, token=token).filter(slug=slug).first()
    if team is None:
        raise ValidationFailed(
            "Unknown team.", fields={"team": [f"You are not in a team called {slug}."]}
        )
    return team


def role_in_team(*, user: Any, team: Team) -> Role | None:
    membership = Membership.objects.filter(user=user, team=team).only("role").first()
    return Role(membership.role) if membership else None


def role_at_least(held: Role | None, needed: Role) -> bool:
    return held is not None and ROLE_RANK[held] >= ROLE_RANK[needed]


def teams_where_role(*, user: Any, role: Role) -> QuerySet[Team]:
    """Teams in which the user holds `role` or a higher one."""
    held = [r for r in Role if role_at_least(r, role)]
    return Team.objects.filter(memberships__user=user, memberships__role__in=held).distinct()


def require_team_role(
    *, user: Any, team: Team, role: Role, token: ApiToken | None = None, action: str
) -> None:
    if token is not None and token.team_id != team.pk:
        raise PermissionDenied(f"This API token belongs to another team; it cannot {action}.")
    if not role_at_least(role_in_team(user=user, team=team), role):
        raise PermissionDenied(
            f"You need the {role.label} role in team {team.name} to {action}.",
            extra={"required_role": role.value},
        )
