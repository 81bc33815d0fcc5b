"""Writes on portal-wide records: teams, memberships, API tokens."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from portal.access import require_team_role
from portal.models import ApiToken, Membership, Role, Team
from portal.tokens import token_generate


def team_create(*, name: str, slug: str = "") -> Team:
    return Team.objects.create(name=name, slug=slug or slugify(name)[:30])


def membership_set(*, team: Team, user: Any, role: Role) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def api_token_create(
    *, team: Team, owner: Any, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored or shown again."""
    require_team_role(user=owner, team=team, role=Role.ADMIN, action="create API tokens")
    secret, prefix, key_hash = token_generate()
    token = ApiToken.objects.create(
        team=team, owner=owner, name=name, prefix=prefix, key_hash=key_hash, expires_at=expires_at
    )
    return token, secret


def api_token_revoke(*, token: ApiToken, by: Any) -> ApiToken:
    require_team_role(user=by, team=token.team, role=Role.ADMIN, action="revoke API tokens")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
