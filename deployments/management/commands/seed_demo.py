"""`manage.py seed_demo`: demo teams and users for trying Hangar on one machine."""

import secrets
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from deployments.services.quota_admin import project_capacity_set, team_quota_set
from portal.models import Role, Team
from portal.services import membership_set, team_limits_update

DEMO_USERS = (
    # username, team slug, role, platform admin
    ("ada", "ml-research", Role.ADMIN, False),
    ("dev", "ml-research", Role.DEPLOYER, False),
    ("mia", "ml-research", Role.MEMBER, False),
    ("pat", "search", Role.DEPLOYER, False),
    ("root", None, None, True),
)
L4_QUOTA_NAME = "Total Nvidia L4 GPU allocation without zonal redundancy, per project per region"
DEMO_TEAMS = {"ml-research": "ML Research", "search": "Search"}


class Command(BaseCommand):
    help = "Create demo teams and users (idempotent) and print their sign-in details."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="Password for every demo user; a random one is generated and printed otherwise.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(9)
        user_model = get_user_model()
        teams = {
            slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in DEMO_TEAMS.items()
        }
        approve = Permission.objects.get(codename="approve_deployment")
        self.stdout.write(f"Demo users (password for all: {password})")
        for username, team_slug, role, platform_admin in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            # A new hash (new salt) would sign everyone out: Django ties each session to
            # the password hash. Only a changed password is set.
            if not user.check_password(password):
                user.set_password(password)
            user.is_staff = platform_admin
            user.save()
            if platform_admin:
                user.user_permissions.add(approve)
                what = "platform admin (approves GPU requests)"
            elif team_slug is not None and role is not None:
                membership_set(team=teams[team_slug], user=user, role=role)
                what = f"{role.label} in {teams[team_slug].name}"
            self.stdout.write(f"  {username:6} {what}")
        self._governance(teams, user_model.objects.get(username="root"))

    def _governance(self, teams: dict[str, Team], root: Any) -> None:
        """Limits that let a small request through on its own and send a big one to root."""
        for region in ("europe-west1", "us-central1"):
            project_capacity_set(
                region=region,
                gpu_type="nvidia-l4",
                max_gpus=3,
                by=root,
                quota_name=L4_QUOTA_NAME,
            )
        for team in teams.values():
            team_quota_set(team=team, gpu_type="nvidia-l4", max_gpus=2, by=root)
            team_limits_update(
                team=team,
                by=root,
                monthly_budget=Decimal("2000"),
                auto_approve_monthly_limit=Decimal("400"),
                default_ttl_hours=72,
            )
        self.stdout.write(
            "Limits: 2 L4 per team, 3 per region for the project, auto-approval under "
            "$400/month, $2,000 monthly budgets, deployments expire after 72 h."
        )
