"""The measured spend ledger."""

from decimal import Decimal

from django.db import models


class SpendDay(models.Model):
    """What Google measured a deployment billed on one UTC day, and what the estimate
    accrued over the same day.

    One row per deployment and day (the constraint): each read of the day's measurement
    replaces the row's seconds (an upsert of the day's total, never an added increment), so
    a repeated read changes nothing and a late one completes the day. A day read after it
    has settled (Google's samples arrive up to minutes late) is final and not read again.
    """

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="spend_days"
    )
    team = models.ForeignKey("portal.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Where the measurement comes from (metering.meters): "cloud-run-instance-time" or
    # "gke-node-lifetime".
    source = models.CharField(max_length=40)
    billed_seconds = models.DecimalField(max_digits=16, decimal_places=3)
    # Price of one billed second (one instance or node) at the approved estimate's price table.
    unit_price = models.DecimalField(max_digits=16, decimal_places=10)
    price_version = models.CharField(max_length=40)
    measured = models.DecimalField(max_digits=12, decimal_places=2)
    estimated = models.DecimalField(max_digits=12, decimal_places=2)
    # The read covered the day up to here (the day's end once it is over).
    measured_through = models.DateTimeField()
    final = models.BooleanField(default=False)
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "day"], name="one_spend_day_per_deployment"
            )
        ]
        indexes = [models.Index(fields=["team", "day"])]

    def __str__(self) -> str:
        return (
            f"{self.deployment_id} {self.day}: {self.measured} measured, {self.estimated} estimated"
        )

    @property
    def difference(self) -> Decimal:
        return self.measured - self.estimated


class ServerSample(models.Model):
    """One reading of a deployment's model server, as the beat task sampled it: vLLM's
    Prometheus /metrics (gauges as read, counters and histogram sums and counts as the
    server's running totals) or what Ollama's /api/ps tells. Kept for a bounded time."""

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="server_samples"
    )
    at = models.DateTimeField()
    server = models.CharField(max_length=16)  # "vllm" or "ollama"
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["deployment", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.server} at {self.at:%Y-%m-%d %H:%M:%S}"


class NodeLifetime(models.Model):
    """A GKE node seen hosting a deployment's pods (or in its node pool), from the node's
    creationTimestamp to its end: each read that lists it moves `last_seen_at` forward
    (never back); once it is gone the node controller's removal event sets it to when the
    node was removed, or, with that record expired, it stays the last sight
    (metering/node_lifetimes.py)."""

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="node_lifetimes"
    )
    uid = models.CharField(max_length=64)  # metadata.uid: a name can come back as a new node
    name = models.CharField(max_length=253)
    machine_type = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    gone = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "uid"], name="one_node_lifetime_per_deployment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.name} {self.created_at:%Y-%m-%d %H:%M:%S}"
