"""`manage.py plan <deployment-id>`: print what a deployment will create, without creating it."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments.choices import Phase
from deployments.models import Deployment
from deployments.plans import plan_for


class Command(BaseCommand):
    help = "Print a deployment's plan: each step's exact API request and its CLI line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("deployment_id", type=int)
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument("--phase", choices=[p.value for p in Phase], default=Phase.DEPLOY.value)

    def handle(self, *args: Any, **options: Any) -> None:
        deployment = (
            Deployment.objects.select_related("team").filter(pk=options["deployment_id"]).first()
        )
        if deployment is None:
            raise CommandError(f"No deployment {options['deployment_id']}.")
        plan = plan_for(deployment, Phase(options["phase"]))
        if options["format"] == "json":
            self.stdout.write(json.dumps(plan.as_dict(), indent=2))
            return
        self.stdout.write(
            f"{plan.phase.label} plan for {deployment.slug} ({deployment.get_target_display()})"
        )
        for number, step in enumerate(plan.steps, start=1):
            self.stdout.write(f"\n{number}. {step.title}")
            self.stdout.write(f"   {step.request.method} {step.request.path}")
            self.stdout.write(f"   $ {step.cli}")
