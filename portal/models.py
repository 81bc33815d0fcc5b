"""Portal-wide records: teams, who belongs to them with which role, and API tokens."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=30, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Spend limits (USD). A request estimated under the auto-approval limit, within the
    # team's GPU quota and its budget, is approved without waiting for an admin.
    monthly_budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    auto_approve_monthly_limit = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )
    # Deployments end after this long unless the request says otherwise; empty: never.
    default_ttl_hours = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """Ordered from least to most: each role can do what the ones before it can."""

    MEMBER = "member", "Member"
    DEPLOYER = "deployer", "Deployer"
    ADMIN = "admin", "Team admin"


ROLE_RANK = {Role.MEMBER: 0, Role.DEPLOYER: 1, Role.ADMIN: 2}


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


class TokenScope(models.TextChoices):
    """What a token may do. A team token acts for its owner within its team and never
    approves; an approval token, made by a platform admin, only approves or rejects."""

    TEAM = "team", "Team"
    APPROVE = "approve", "Approve GPU spend"


class ApiToken(models.Model):
    """A credential for other platforms. Only a hash of the secret is kept."""

    # Empty for an approval token, which belongs to no team.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="api_tokens", null=True, blank=True
    )
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.TEAM)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The public part of the token, used to find the row without scanning hashes.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(scope=TokenScope.TEAM, team__isnull=False)
                    | models.Q(scope=TokenScope.APPROVE, team__isnull=True)
                ),
                name="team_token_has_team_approval_token_has_none",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Notification(models.Model):
    """A message for one person, shown on their dashboard (and sent by email)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # The team whose work it is about: shown only while the user is still its member.
    team = models.ForeignKey(
        "portal.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message[:60]


class AuditEvent(models.Model):
    """Who did what, when, why, and what it changed: every decision Hangar records."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"


class TeamHfSecret(models.Model):
    """Where a team's Hugging Face token lives (a Secret Manager secret), never the token.

    The token goes straight to Secret Manager; this row says only which secret, which
    version is newest, and who set it when, so pages can say whether a token is set.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="hf_secret")
    secret_name = models.CharField(max_length=255, help_text="projects/P/secrets/S")
    latest_version = models.CharField(max_length=300, help_text="projects/P/secrets/S/versions/N")
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.team} Hugging Face token in {self.secret_name}"
