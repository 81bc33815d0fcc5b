"""What limits and prices GPU spend: quotas, the project's capacity, prices, accrued cost."""

from django.conf import settings
from django.db import models


class TeamGpuQuota(models.Model):
    """How many GPUs of a type a team may hold without an admin's approval."""

    team = models.ForeignKey("portal.Team", on_delete=models.CASCADE, related_name="gpu_quotas")
    gpu_type = models.CharField(max_length=32)
    max_gpus = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "gpu_type"], name="one_quota_per_team_gpu")
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.max_gpus} × {self.gpu_type}"


class ProjectGpuCapacity(models.Model):
    """Google's per-project, per-region GPU quota: no request may take Hangar past it.

    The row is also the lock two racing requests for the last GPUs queue on.
    """

    region = models.CharField(max_length=32)
    gpu_type = models.CharField(max_length=32)
    max_gpus = models.PositiveIntegerField()
    quota_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Google's name, e.g. Total Nvidia L4 GPU allocation, per project per region.",
    )

    class Meta:
        verbose_name_plural = "project GPU capacities"
        constraints = [
            models.UniqueConstraint(
                fields=["region", "gpu_type"], name="one_capacity_per_region_gpu"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region}: {self.max_gpus} × {self.gpu_type}"


class PriceTable(models.Model):
    """Unit prices with where and when they were read. One is active; edits make a new version."""

    version = models.CharField(max_length=40, unique=True)
    data = models.JSONField()
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_price_table"
            )
        ]

    def __str__(self) -> str:
        return f"prices {self.version}" + (" (active)" if self.active else "")


class CostAccrual(models.Model):
    """Cost a deployment accrued over one interval, at the rate it was approved with."""

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="accruals"
    )
    team = models.ForeignKey("portal.Team", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    hourly_rate = models.DecimalField(max_digits=12, decimal_places=6)

    class Meta:
        ordering = ["period_end"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "period_start"], name="one_accrual_per_interval"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.amount} until {self.period_end:%Y-%m-%d %H:%M}"
