"""Which measurement of Google's stands for a deployment's billed time, and the price of
one measured second.

Each target declares how what it bills is measured (`TargetDef.metering`,
deployments/targets/capabilities.py):
- a Cloud Run service (InstanceTime): Cloud Monitoring's billable instance time measures
  it (GPU services are instance-billed: every second of every instance), priced per
  instance-second;
- GKE nodes (NodeLifetime): the lifetimes of the nodes a Kubernetes Deployment's pods ran
  on, or of a node pool Hangar added, read from the cluster's API
  (metering/node_lifetimes.py).
GKE's are priced per node-second at the machine's hourly price (and Autopilot's GPU
premium on an Autopilot cluster), the whole node as the estimate prices it, at its list
price (a Spot or Flex-start pool costs less: not guessed, as the estimate). The cluster's
management fee and default pool are shared by the cluster's tenants and not measured per
deployment: they stay in the estimate only. No target is asked for by name.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from clusters.models import Cluster
from clusters.selectors import cluster_connection
from deployments.models import Deployment, PriceTable
from deployments.plans import ref_for
from deployments.pricing.estimator import SECONDS_PER_HOUR, Estimate
from deployments.targets import spec_for, target_for
from deployments.targets.capabilities import InstanceTime, NodeLifetime
from gcp import monitoring
from metering.node_lifetimes import last_seen, node_seconds, nodes_observe

CLOUD_RUN_INSTANCE_TIME = "cloud-run-instance-time"
GKE_NODE_LIFETIME = "gke-node-lifetime"


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

    def billed_until(self) -> datetime | None:
        """None: a service bills nothing once its delete step ended the estimate."""
        return None

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
    unit_price: Decimal  # per second of one node
    price_version: str
    namespace: str = ""
    selector: str = ""  # the Deployment's pods, as a label selector
    node_pool: str = ""  # or the node pool Hangar made for it
    measures = "the lifetimes of its GKE nodes"

    def observe(self, now: datetime) -> None:
        """Record the nodes the cluster's API shows for the deployment now."""
        nodes_observe(
            deployment_id=self.deployment_id,
            conn=cluster_connection(cluster_id=self.cluster_id),
            now=now,
            namespace=self.namespace,
            selector=self.selector,
            node_pool=self.node_pool,
        )

    def billed_until(self) -> datetime | None:
        """The latest end of its nodes (their removal, or their last sight): nodes outlive
        the pods."""
        return last_seen(deployment_id=self.deployment_id)

    def billed_seconds(self, *, start: datetime, end: datetime) -> Decimal:
        """Node-seconds observed in [start, end)."""
        return node_seconds(deployment_id=self.deployment_id, start=start, end=end)


Meter = InstanceTimeMeter | NodeMeter


def meter_for(deployment: Deployment) -> Meter | None:
    """The deployment's meter, or None when Google's measurement of it is not read."""
    if not deployment.estimate:
        return None
    estimate = Estimate.from_json(deployment.estimate)
    measured = target_for(deployment).metering(ref_for(deployment), spec_for(deployment))
    if isinstance(measured, InstanceTime) and estimate.unit == "instance-hour":
        per_hour = sum((cost for _, cost in estimate.lines), Decimal(0))
        return InstanceTimeMeter(
            source=CLOUD_RUN_INSTANCE_TIME,
            service=measured.service,
            region=measured.region,
            unit_price=per_hour / SECONDS_PER_HOUR,
            price_version=estimate.price_version,
        )
    if isinstance(measured, NodeLifetime):
        return _node_meter(deployment, estimate, measured)
    return None


def _node_meter(
    deployment: Deployment, estimate: Estimate, nodes: NodeLifetime
) -> NodeMeter | None:
    cluster = Cluster.objects.filter(pk=nodes.cluster).first()
    prices = PriceTable.objects.filter(version=estimate.price_version).first()
    gke = (prices.data if prices else {}).get("gke", {})
    if cluster is None or nodes.machine_type not in gke.get("machines_per_hour", {}):
        return None
    per_hour = Decimal(gke["machines_per_hour"][nodes.machine_type])
    if cluster.autopilot:  # as estimate_gke prices an Autopilot node
        per_hour += per_hour * Decimal(gke["autopilot_gpu_premium_percent"]) / 100
    return NodeMeter(
        source=GKE_NODE_LIFETIME,
        deployment_id=deployment.pk,
        cluster_id=cluster.pk,
        unit_price=per_hour / SECONDS_PER_HOUR,
        price_version=estimate.price_version,
        namespace=nodes.namespace,
        selector=nodes.selector,
        node_pool=nodes.node_pool,
    )
