"""Which measurement of Google's stands for a deployment's billed time, and the price of
one measured second.

The billed resource is the one the deploy plan marks `billing="starts"`; when that resource
is a Cloud Run service, Cloud Monitoring's billable instance time measures it (GPU services
are instance-billed: every second of every instance). Other billed resources (a GKE
Deployment's nodes) have no meter yet: only their estimate accrues. No target is asked for
by name.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from deployments.choices import Phase
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.pricing.estimator import SECONDS_PER_HOUR, Estimate
from workers.gcp import monitoring

CLOUD_RUN_INSTANCE_TIME = "cloud-run-instance-time"
_CLOUD_RUN_SERVICE = re.compile(
    r"projects/[^/]+/locations/(?P<region>[^/]+)/services/(?P<service>[^/]+)"
)


@dataclass(frozen=True)
class Meter:
    source: str
    service: str
    region: str
    unit_price: Decimal  # per billed second of one instance
    price_version: str

    def billed_seconds(self, *, start: datetime, end: datetime) -> Decimal:
        """Google's billed seconds in (start, end]."""
        return monitoring.billable_instance_seconds(
            service=self.service, region=self.region, start=start, end=end
        )


def meter_for(deployment: Deployment) -> Meter | None:
    """The deployment's meter, or None when Google's measurement of it is not read."""
    if not deployment.estimate:
        return None
    estimate = Estimate.from_json(deployment.estimate)
    if estimate.unit != "instance-hour":
        return None
    for step in plan_for(deployment, Phase.DEPLOY).steps:
        match = _CLOUD_RUN_SERVICE.fullmatch(str(step.params.get("name", "")))
        if step.billing == "starts" and match:
            per_hour = sum((cost for _, cost in estimate.lines), Decimal(0))
            return Meter(
                source=CLOUD_RUN_INSTANCE_TIME,
                service=match["service"],
                region=match["region"],
                unit_price=per_hour / SECONDS_PER_HOUR,
                price_version=estimate.price_version,
            )
    return None
