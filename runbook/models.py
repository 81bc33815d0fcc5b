"""The step ledger: every run of every step of every owner's plan, one table.

A row is written before the step's work starts (running, with a lease) and updated after
it (waiting on an operation, succeeded, failed). The database allows one step in flight
per owner, so two rollouts of one deployment (or one cluster) never run side by side.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Outcome(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting on Google"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"


IN_FLIGHT_OUTCOMES = (Outcome.RUNNING, Outcome.WAITING)


class StepRun(models.Model):
    # Whose plan it is: an owner's kind as its adapter registers it, and the row's id.
    owner_kind = models.CharField(max_length=32)
    owner_id = models.BigIntegerField()
    # Not auto_now_add: runs moved in from the apps' own event tables keep their time.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    phase = models.CharField(max_length=16)
    # Each pass of the owner through a plan is an attempt; a retry of a failed one resumes.
    attempt = models.PositiveIntegerField(default=0)
    step = models.CharField(max_length=64)
    # The step's title, as the plan said it when the step started.
    message = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    operation = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    retries = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # A check scheduled for this time is already queued; earlier arrivals (duplicate
    # tasks, the reconciler) step aside so only one chain of checks stays alive.
    not_before = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["owner_kind", "owner_id"], name="steprun_owner")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner_kind", "owner_id"],
                condition=Q(outcome__in=[o.value for o in IN_FLIGHT_OUTCOMES]),
                name="one_step_in_flight_per_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_kind} {self.owner_id} {self.step}: {self.outcome}"

    @property
    def kind(self) -> str:
        """What a timeline row is: a step's run (an owner's state changes are the others)."""
        return "step"
