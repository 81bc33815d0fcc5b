"""Writes on portal-wide records: teams, memberships, API tokens.

A team's Hugging Face token is written by services_hf_token.py, straight to Secret Manager.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.access import is_platform_admin, require_team_role
from portal.audit import audit_record
from portal.exceptions import PermissionDenied, ValidationFailed
from portal.models import ApiToken, Membership, Role, Team, TokenScope
from portal.tokens import token_generate

TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length or 100


def membership_set(*, team: Team, user: Any, role: Role) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


def api_token_create(
    *, team: Team, owner: Any, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a team token and return it with its secret, which is never stored or shown
    again. It acts for its owner within the team, and never approves GPU spend."""
    require_team_role(user=owner, team=team, role=Role.ADMIN, action="create API tokens")
    return _token_create(team=team, owner=owner, name=name, expires_at=expires_at)


def approval_token_create(
    *, owner: Any, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token that approves or rejects requests over the API and does nothing else,
    for automation that decides on GPU spend. Platform admins only; it acts as its owner,
    so it never decides on its owner's own requests."""
    if not is_platform_admin(owner):
        raise PermissionDenied("Only platform admins create approval tokens.")
    return _token_create(
        team=None, owner=owner, name=name, expires_at=expires_at, scope=TokenScope.APPROVE
    )


@transaction.atomic
def _token_create(
    *,
    team: Team | None,
    owner: Any,
    name: str,
    expires_at: datetime | None,
    scope: TokenScope = TokenScope.TEAM,
) -> tuple[ApiToken, str]:
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX:
        raise ValidationFailed(
            "Name the token.", fields={"name": [f"1 to {TOKEN_NAME_MAX} characters."]}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "A token cannot expire in the past.",
            fields={"expires_at": ["Pick a time in the future, or leave it empty."]},
        )
    secret, prefix, key_hash = token_generate()
    token = ApiToken.objects.create(
        team=team,
        owner=owner,
        name=name,
        scope=scope,
        prefix=prefix,
        key_hash=key_hash,
        expires_at=expires_at,
    )
    audit_record(
        action="token.created",
        obj=token,
        actor=owner,
        team=team,
        after={
            "name": name,
            "scope": scope.value,
            "prefix": prefix,
            "expires_at": _iso(expires_at),
        },
    )
    return token, secret


def _require_token_admin(*, token: ApiToken, by: Any) -> None:
    if token.team is not None:
        require_team_role(user=by, team=token.team, role=Role.ADMIN, action="revoke API tokens")
    elif not is_platform_admin(by):
        raise PermissionDenied("Only platform admins revoke approval tokens.")


def api_token_revoke(*, token: ApiToken, by: Any) -> ApiToken:
    _require_token_admin(token=token, by=by)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                action="token.revoked",
                obj=token,
                actor=by,
                team=token.team,
                before={"revoked_at": None},
                after={"revoked_at": _iso(token.revoked_at)},
            )
    return token


@transaction.atomic
def team_limits_update(
    *,
    team: Team,
    by: Any,
    monthly_budget: Decimal | None,
    auto_approve_monthly_limit: Decimal,
    default_ttl_hours: int | None,
    reason: str = "",
) -> Team:
    """Set a team's spend limits; platform admins only, on the record."""
    if not is_platform_admin(by):
        raise PermissionDenied("Only platform admins set team budgets and limits.")
    fields = ("monthly_budget", "auto_approve_monthly_limit", "default_ttl_hours")
    before = {f: _plain(getattr(team, f)) for f in fields}
    team.monthly_budget = monthly_budget
    team.auto_approve_monthly_limit = auto_approve_monthly_limit
    team.default_ttl_hours = default_ttl_hours
    team.save(update_fields=list(fields))
    audit_record(
        action="team.limits_changed",
        obj=team,
        actor=by,
        team=team,
        reason=reason,
        before=before,
        after={f: _plain(getattr(team, f)) for f in fields},
    )
    return team


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _plain(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value  # money: two places
