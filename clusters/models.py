"""A GKE cluster Hangar knows, and the timeline of what Hangar did to it."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from clusters.choices import (
    CLUSTER_TERMINAL_STATES,
    ClusterStatus,
    ReleaseChannel,
)

# Project ids: 6-30 characters (Resource Manager's rule), optionally domain-scoped
# ("example.com:my-project"), which seed 003's workload pool and e-mail rules allow for.
PROJECT_RE = r"^([a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$"
# A region (us-central1, u-france-east1) or a zone (us-central1-a).
LOCATION_RE = r"^[a-z][a-z0-9-]{1,38}[0-9](-[a-z])?$"
# GKE: a lowercase letter, then up to 39 lowercase letters, digits or hyphens, not ending
# in a hyphen (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-an-autopilot-cluster).
CLUSTER_NAME_RE = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"


class Cluster(models.Model):
    project = models.CharField(
        max_length=94, validators=[RegexValidator(PROJECT_RE, "Not a Google Cloud project id.")]
    )
    location = models.CharField(
        max_length=41,
        validators=[RegexValidator(LOCATION_RE, "Not a Google Cloud region or zone.")],
    )
    name = models.CharField(
        max_length=40,
        validators=[
            RegexValidator(
                CLUSTER_NAME_RE,
                "A lowercase letter, then up to 39 lowercase letters, digits or hyphens, "
                "not ending in a hyphen.",
            )
        ],
    )
    # Read from get_cluster: the control plane's address and the CA that signs its
    # certificate (base64 PEM, as container_v1 MasterAuth gives it; public, not a secret).
    endpoint = models.CharField(max_length=255, blank=True)
    ca_certificate = models.TextField(blank=True)
    current_version = models.CharField(max_length=64, blank=True)
    workload_pool = models.CharField(max_length=255, blank=True)
    autopilot = models.BooleanField(default=True)
    release_channel = models.CharField(max_length=16, choices=ReleaseChannel.choices, blank=True)
    # Hangar created it, so Hangar may delete it; a registered cluster is never deleted.
    owned_by_hangar = models.BooleanField(default=False)
    teams = models.ManyToManyField(
        "portal.Team", blank=True, related_name="clusters", help_text="Teams that may use it."
    )
    status = models.CharField(max_length=16, choices=ClusterStatus.choices)
    # Each run of a plan (register, create, delete, or one of them again) is an attempt.
    attempt = models.PositiveIntegerField(default=0)
    # When the one queued advance of its plan is due (runbook/dispatch.py); null when none.
    advance_due_at = models.DateTimeField(null=True, blank=True)
    failure_step = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    failure_hint = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["project", "location", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "location", "name"],
                condition=~Q(status__in=sorted(s.value for s in CLUSTER_TERMINAL_STATES)),
                name="one_live_cluster_per_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.project}/{self.location})"

    @property
    def resource_name(self) -> str:
        """The name container_v1 knows it by."""
        return f"projects/{self.project}/locations/{self.location}/clusters/{self.name}"


class ClusterEvent(models.Model):
    """A cluster's state changes; with its step runs (runbook.StepRun, owner "cluster")
    they make its timeline, as a deployment's events do."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)
    from_status = models.CharField(max_length=16, choices=ClusterStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ClusterStatus.choices, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.from_status or '-'} → {self.to_status}"
