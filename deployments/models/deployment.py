"""Deployments and their events: the request, its settings, its state and its timeline."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from deployments.choices import TERMINAL_STATES, Phase, Status
from deployments.targets import spec_for, target_choices, target_for

# The columns gpus_held and runs_on are derived from: saving any of them derives them again.
DERIVED_FROM = frozenset({"spec", "target", "model", "region", "gpu_type", "gpu_count"})


class Deployment(models.Model):
    team = models.ForeignKey("portal.Team", on_delete=models.PROTECT, related_name="deployments")
    # DNS-label name, used for every Google resource the deployment creates.
    slug = models.SlugField(max_length=40)
    target = models.CharField(max_length=32, choices=target_choices)
    model = models.CharField(max_length=64, help_text="Catalog key, e.g. gemma3-4b.")
    region = models.CharField(max_length=32)
    gpu_type = models.CharField(max_length=32)
    gpu_count = models.PositiveSmallIntegerField(default=1)
    # Target-specific settings (CPU, memory, scaling...), validated by the target's spec.
    spec = models.JSONField(default=dict)
    # What the spec holds against quotas (its gpus_held), derived on every save: quotas
    # sum it in SQL rather than reading every holding row's spec in Python.
    gpus_held = models.PositiveIntegerField(default=0, editable=False)
    # The deployment this one runs on (its target's depends_on: a LoRA adapter's base),
    # derived on every save, so a base's dependents are one indexed read. No constraint:
    # the spec names the base, and a base's row outlives nothing it does not own.
    runs_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="dependents",
    )

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_via_token = models.ForeignKey(
        "portal.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    # Each pass through DEPLOYING is an attempt; resources created per attempt
    # (builds) are tagged with it so a resumed step finds its own work.
    attempt = models.PositiveIntegerField(default=0)
    # What earlier steps produced that later ones need (image digest, service URL...).
    outputs = models.JSONField(default=dict, blank=True)
    endpoint_url = models.URLField(blank=True)
    # When the one queued `advance` task of this rollout is due; null when none is queued.
    # Nothing queues a second while one is pending (runbook/dispatch.py), so the queue
    # holds at most one task per rollout, and the reconciler sees which tasks were lost.
    advance_due_at = models.DateTimeField(null=True, blank=True)

    # Governance: why it is needed, what it was estimated to cost when approved (never
    # recomputed; carries its price table version), when it ends, what it has cost.
    justification = models.TextField(blank=True)
    busy_hours_per_day = models.DecimalField(max_digits=4, decimal_places=1, default=8)
    estimate = models.JSONField(null=True, blank=True)
    auto_approved = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    cost_accrued_until = models.DateTimeField(null=True, blank=True)
    failure_step = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    failure_hint = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_deployment", "Can approve or reject GPU deployments")]
        constraints = [
            # Google resource names derive from the slug, so two live deployments
            # must never share one.
            models.UniqueConstraint(
                fields=["slug"],
                condition=~Q(status__in=sorted(s.value for s in TERMINAL_STATES)),
                name="one_live_deployment_per_slug",
            )
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.target}, {self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        if fields is None or DERIVED_FROM & set(fields):
            spec = spec_for(self)
            self.gpus_held = spec.gpus_held
            self.runs_on_id = target_for(self).depends_on(spec)
            if fields is not None:
                kwargs["update_fields"] = {*fields, "gpus_held", "runs_on"}
        super().save(*args, **kwargs)

    @property
    def phase(self) -> Phase:
        return Phase.TEARDOWN if self.status == Status.TEARING_DOWN else Phase.DEPLOY


class DeploymentEvent(models.Model):
    """The deployment's state changes: who moved it from what to what, and why.

    With the runs of its plans' steps (runbook.StepRun, owner "deployment") they make its
    timeline (deployments/selectors.py deployment_timeline).
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token = models.ForeignKey(
        "portal.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    @property
    def kind(self) -> str:
        """What a timeline row is: a state change (the others are step runs)."""
        return "transition"
