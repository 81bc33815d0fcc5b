"""Cluster plans: pure functions from a cluster's identity to the exact container_v1 calls.

A cluster is an owner of plans on the engine (runbook/), as a deployment is; its adapter
is clusters/rollout.py. The GPU node pool a gke-inference-gateway deployment adds to a
Standard cluster is that target's (deployments/targets/gke_inference_gateway/node_pools.py),
which uses the roles here and whose cost counts the default pool's machine. GKE's REST
reference:
https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters
"""

from dataclasses import dataclass
from typing import Any

from clusters.choices import ClusterPhase
from runbook.plan import MANAGED_BY_LABEL, ApiRequest, Deadline, Step

ADMIN_ROLE = "roles/container.admin"
# get_cluster needs container.clusters.get, which the viewer role grants.
VIEWER_ROLE = "roles/container.clusterViewer"

# GKE creates an Autopilot or a Standard cluster in about 10 minutes ("several minutes":
# https://cloud.google.com/kubernetes-engine/docs/how-to/creating-an-autopilot-cluster) and
# deletes one in a few; gcloud's own wait for a cluster operation gives up after an hour
# (`gcloud container clusters create --timeout`, 3600 s by default). Past that, GKE is not
# slow but stuck, and the step says so.
CLUSTER_OPERATION_DEADLINE = Deadline(
    3600,
    "GKE makes or removes a cluster in minutes; gcloud's own wait gives up after 3600 s",
)


@dataclass(frozen=True)
class ClusterRef:
    project: str
    location: str
    name: str
    release_channel: str = ""
    # Autopilot (create-auto) or Standard as seed 004 creates it.
    autopilot: bool = True

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def resource_name(self) -> str:
        return f"{self.parent}/clusters/{self.name}"


@dataclass(frozen=True)
class ClusterPlan:
    phase: ClusterPhase
    cluster: ClusterRef
    steps: tuple[Step, ...]

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)


def _where(ref: ClusterRef) -> str:
    return f"--project={ref.project} --location={ref.location}"


def create_body(ref: ClusterRef) -> dict[str, Any]:
    """`gcloud container clusters create-auto`: Autopilot on, a release channel, nothing
    else. Autopilot takes no node pools (GKE manages them); Workload Identity is always on."""
    cluster: dict[str, Any] = {
        "name": ref.name,
        "autopilot": {"enabled": True},
        "resourceLabels": dict(MANAGED_BY_LABEL),
    }
    if ref.release_channel:
        cluster["releaseChannel"] = {"channel": ref.release_channel}
    return {"cluster": cluster}


# Seed 004's `gcloud container clusters create`: one node per zone in the default pool
# (GKE's e2-medium), Workload Identity, Managed Prometheus with SYSTEM and DCGM metrics,
# the Gateway API's standard channel, VPC-native with HTTP load balancing (the Gateway
# controller needs both: https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways).
# The default pool's machine: the seed names none, so GKE gives it e2-medium
# (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-a-zonal-cluster).
DEFAULT_POOL_MACHINE = "e2-medium"
STANDARD_FLAGS = (
    "--num-nodes=1 --enable-managed-prometheus --monitoring=SYSTEM,DCGM "
    "--gateway-api=standard --enable-ip-alias --addons=HttpLoadBalancing"
)


def standard_create_body(ref: ClusterRef) -> dict[str, Any]:
    """A GKE Standard cluster with what seed 004's Inference Gateway needs."""
    cluster: dict[str, Any] = {
        "name": ref.name,
        "initialNodeCount": 1,
        "resourceLabels": dict(MANAGED_BY_LABEL),
        "workloadIdentityConfig": {"workloadPool": f"{ref.project}.svc.id.goog"},
        "monitoringConfig": {
            "componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "DCGM"]},
            "managedPrometheusConfig": {"enabled": True},
        },
        "networkConfig": {"gatewayApiConfig": {"channel": "CHANNEL_STANDARD"}},
        "ipAllocationPolicy": {"useIpAliases": True},
        "addonsConfig": {"httpLoadBalancing": {"disabled": False}},
    }
    if ref.release_channel:
        cluster["releaseChannel"] = {"channel": ref.release_channel}
    return {"cluster": cluster}


def create_cluster_step(ref: ClusterRef) -> Step:
    channel = f" --release-channel={ref.release_channel.lower()}" if ref.release_channel else ""
    if ref.autopilot:
        title, body = f"Create the Autopilot cluster {ref.name}", create_body(ref)
        cli = f"gcloud container clusters create-auto {ref.name} {_where(ref)}{channel}"
    else:
        title, body = f"Create the Standard cluster {ref.name}", standard_create_body(ref)
        cli = (
            f"gcloud container clusters create {ref.name} {_where(ref)} "
            f"--workload-pool={ref.project}.svc.id.goog{channel} {STANDARD_FLAGS}"
        )
    return Step(
        key="create_cluster",
        title=title,
        action="container.create_cluster",
        request=ApiRequest("container", "POST", f"/v1/{ref.parent}/clusters", body),
        cli=cli,
        required_role=ADMIN_ROLE,
        params={
            "parent": ref.parent,
            "name": ref.resource_name,
            "deadline": CLUSTER_OPERATION_DEADLINE.as_param(),
        },
    )


def remove_failed_cluster_step(ref: ClusterRef) -> Step:
    """A create that failed leaves the cluster in ERROR; a retry removes the one Hangar made
    (its label) before creating it again, on the record. Nothing else is removed."""
    return Step(
        key="remove_failed_cluster",
        title=f"Remove {ref.name} if a failed create left it in ERROR",
        action="container.remove_failed_cluster",
        request=ApiRequest("container", "DELETE", f"/v1/{ref.resource_name}"),
        cli=(
            f"gcloud container clusters describe {ref.name} {_where(ref)} "
            f'--format="value(status,resourceLabels)"  # ERROR and managed-by=hangar: '
            f"gcloud container clusters delete {ref.name} {_where(ref)} --quiet"
        ),
        required_role=ADMIN_ROLE,
        params={"name": ref.resource_name, "deadline": CLUSTER_OPERATION_DEADLINE.as_param()},
    )


def read_cluster_step(ref: ClusterRef) -> Step:
    return Step(
        key="read_cluster",
        title=f"Read {ref.name}'s endpoint and CA",
        action="container.read_cluster",
        request=ApiRequest("container", "GET", f"/v1/{ref.resource_name}"),
        cli=(
            f"gcloud container clusters describe {ref.name} {_where(ref)} "
            '--format="value(endpoint,masterAuth.clusterCaCertificate)"'
        ),
        required_role=VIEWER_ROLE,
        params={"name": ref.resource_name},
    )


def delete_cluster_step(ref: ClusterRef) -> Step:
    return Step(
        key="delete_cluster",
        title=f"Delete the cluster {ref.name}",
        action="container.delete_cluster",
        request=ApiRequest("container", "DELETE", f"/v1/{ref.resource_name}"),
        cli=f"gcloud container clusters delete {ref.name} {_where(ref)} --quiet",
        required_role=ADMIN_ROLE,
        params={"name": ref.resource_name, "deadline": CLUSTER_OPERATION_DEADLINE.as_param()},
    )


def cluster_plan(phase: ClusterPhase, ref: ClusterRef) -> ClusterPlan:
    """Register reads what exists; create removes the ERROR cluster a failed create of
    Hangar's left, makes it and then reads it; delete removes it."""
    steps: tuple[Step, ...]
    if phase == ClusterPhase.REGISTER:
        steps = (read_cluster_step(ref),)
    elif phase == ClusterPhase.CREATE:
        steps = (remove_failed_cluster_step(ref), create_cluster_step(ref), read_cluster_step(ref))
    else:
        steps = (delete_cluster_step(ref),)
    return ClusterPlan(phase, ref, steps)
