"""Which measurement of Google's stands for a deployment's billed time, and the price of
one measured second.

The billed resource is the one the deploy plan marks `billing="starts"`:
- a Cloud Run service: Cloud Monitoring's billable instance time measures it (GPU services
  are instance-billed: every second of every instance), priced per instance-second;
- a Kubernetes Deployment on GKE: the lifetimes of the nodes its pods ran on, read from the
  cluster's API (metering/node_lifetimes.py), priced per node-second at the machine's
  hourly price (and Autopilot's GPU premium on an Autopilot cluster), the whole node as the
  estimate prices it. The cluster's management fee is shared by the cluster's tenants and
  not measured per deployment: it stays in the estimate only.
Other billed resources (a GKE node pool Hangar adds) have no meter yet: only their estimate
accrues. No target is asked for by name.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from clusters.models import Cluster
from clusters.selectors import cluster_endpoint
from deployments.choices import Phase
from deployments.models import Deployment, PriceTable
from deployments.plans import plan_for
from deployments.pricing.estimator import SECONDS_PER_HOUR, Estimate
from metering.node_lifetimes import node_seconds, nodes_observe
from workers.gcp import kube, monitoring

CLOUD_RUN_INSTANCE_TIME = "cloud-run-instance-time"
GKE_NODE_LIFETIME = "gke-node-lifetime"
_CLOUD_RUN_SERVICE = re.compile(
    r"projects/[^/]+/locations/(?P<region>[^/]+)/services/(?P<service>[^/]+)"
)


@dataclass(frozen=True)
class InstanceTimeMeter:
    source: str
    service: str
    region: str
    unit_price: Decimal  # per billed second of one instance
    price_version: str
    measures = "Cloud Monitoring's billable instance time"

    def observe(self, now: datetime) -> None:
        """Nothing to record: Cloud Monitoring keeps the history."""

    def billed_seconds(self, *, start: datetime, end: datetime) -> Decimal:
        """Google's billed seconds in (start, end]."""
        return monitoring.billable_instance_seconds(
            service=self.service, region=self.region, start=start, end=end
        )


@dataclass(frozen=True)
class NodeMeter:
    source: str
    deployment_id: int
    cluster_id: int
    namespace: str
    selector: str  # the Deployment's pods, as a label selector
    unit_price: Decimal  # per second of one node
    price_version: str
    measures = "the lifetimes of the GKE nodes its pods ran on"

    def observe(self, now: datetime) -> None:
        """Record the nodes the cluster's API shows for the deployment now."""
        endpoint, ca = cluster_endpoint(cluster_id=self.cluster_id)
        nodes_observe(
            deployment_id=self.deployment_id,
            conn=kube.ClusterConn(endpoint, ca),
            namespace=self.namespace,
            selector=self.selector,
            now=now,
        )

    def billed_seconds(self, *, start: datetime, end: datetime) -> Decimal:
        """Node-seconds observed in [start, end)."""
        return node_seconds(deployment_id=self.deployment_id, start=start, end=end)


Meter = InstanceTimeMeter | NodeMeter


def meter_for(deployment: Deployment) -> Meter | None:
    """The deployment's meter, or None when Google's measurement of it is not read."""
    if not deployment.estimate:
        return None
    estimate = Estimate.from_json(deployment.estimate)
    for step in plan_for(deployment, Phase.DEPLOY).steps:
        if step.billing != "starts":
            continue
        match = _CLOUD_RUN_SERVICE.fullmatch(str(step.params.get("name", "")))
        if match and estimate.unit == "instance-hour":
            per_hour = sum((cost for _, cost in estimate.lines), Decimal(0))
            return InstanceTimeMeter(
                source=CLOUD_RUN_INSTANCE_TIME,
                service=match["service"],
                region=match["region"],
                unit_price=per_hour / SECONDS_PER_HOUR,
                price_version=estimate.price_version,
            )
        body = step.request.body or {}
        if step.action == "kube.apply" and body.get("kind") == "Deployment":
            return _node_meter(deployment, step.params, body, estimate)
    return None


def _node_meter(
    deployment: Deployment, params: dict[str, Any], body: dict[str, Any], estimate: Estimate
) -> NodeMeter | None:
    machine = str(deployment.spec.get("machine_type", ""))
    prices = PriceTable.objects.filter(version=estimate.price_version).first()
    cluster = Cluster.objects.filter(pk=int(params["cluster"])).first()
    gke = (prices.data if prices else {}).get("gke", {})
    if cluster is None or machine not in gke.get("machines_per_hour", {}):
        return None
    per_hour = Decimal(gke["machines_per_hour"][machine])
    if cluster.autopilot:  # as estimate_gke prices an Autopilot node
        per_hour += per_hour * Decimal(gke["autopilot_gpu_premium_percent"]) / 100
    labels = body["spec"]["selector"]["matchLabels"]
    return NodeMeter(
        source=GKE_NODE_LIFETIME,
        deployment_id=deployment.pk,
        cluster_id=cluster.pk,
        namespace=str(params["namespace"]),
        selector=",".join(f"{key}={value}" for key, value in sorted(labels.items())),
        unit_price=per_hour / SECONDS_PER_HOUR,
        price_version=estimate.price_version,
    )
