"""manage.py preflight: what the portal's identity lacks before a rollout would find out."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workers.preflight import preflight


class Command(BaseCommand):
    help = (
        "Check with Google that the portal's identity holds every permission the enabled "
        "targets' plans need, may act as the accounts things run as, that the APIs are on "
        "and that the regions offered have GPU quota; print the gcloud line for each gap."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        missing = 0
        for title, findings in preflight():
            self.stdout.write(title)
            for finding in findings:
                mark = {True: "ok     ", False: "MISSING", None: "CHECK  "}[finding.ok]
                self.stdout.write(f"  {mark} {finding.what}")
                missing += finding.ok is False
                if not finding.ok and finding.fix:
                    self.stdout.write(f"          {finding.fix}")
        if missing:
            raise CommandError(f"{missing} missing; run the lines above, then preflight again.")
        self.stdout.write(self.style.SUCCESS("Everything the plans need is in place."))
