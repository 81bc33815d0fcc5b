"""GPU node pools on a GKE Standard cluster, as plan steps: pure functions from what a
deployment needs to the exact container_v1 request, and the check that a cluster has what
the Inference Gateway needs.

A pool belongs to the deployment that made it (its plan creates it, its tear down
deletes it): its name is unique to the deployment and its labels name it (gke/names.py),
and the executors adopt or delete a pool only when those labels say it is theirs; the
cluster outlives it. GKE runs one operation per cluster at a time, so
the create is only sent once the cluster is RUNNING (a cluster Hangar creates reaches
`ready` only after its create operation is DONE), and an executor that finds the cluster
busy waits and tries again (executors.py). The cluster's own roles and default pool are
the cluster plans' (clusters/plans.py). REST reference:
https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters.nodePools
"""

from dataclasses import dataclass, field
from typing import Any

from clusters.plans import ADMIN_ROLE, VIEWER_ROLE
from runbook.ownership import owner_keys_of
from runbook.plan import MANAGED_BY_LABEL, ApiRequest, Deadline, Step

# Google states no time for a node-pool operation. Its Workflows connector for
# nodePools.create and nodePools.delete waits 1800 s by default before it calls the
# operation timed out
# (https://cloud.google.com/workflows/docs/reference/googleapis/container/v1/projects.locations.clusters.nodePools/create);
# GPU nodes (Spot, Flex-start, a zone short of H100s) may take longer, so Hangar waits as
# long as gcloud waits for a cluster operation (clusters/plans.py, 3600 s). Past that the
# operation is stuck, not slow, and the step says so.
NODE_POOL_OPERATION_DEADLINE = Deadline(
    3600,
    "Google states no node-pool operation time; its Workflows connector waits 1800 s for one, "
    "GPU nodes may take longer, so as long as gcloud waits for a cluster operation",
)


# The nodes' boot disk. Hangar asks for 200 GB (the model server's image and emptyDir
# scratch live there); the type is GKE's own default since 1.24, named so the estimate and
# the request agree ("By default, GKE uses balanced Persistent Disks in version 1.24 or
# later", https://cloud.google.com/kubernetes-engine/docs/how-to/custom-boot-disks).
BOOT_DISK_GB = 200
BOOT_DISK_TYPE = "pd-balanced"
# The nodes' identity as gcloud makes it: the Compute Engine default service account with
# gcloud's default scopes (https://cloud.google.com/kubernetes-engine/docs/how-to/access-scopes,
# "Default access scopes", Standard clusters). The API alone adds only logging.write and
# monitoring when a request names no scopes (NodeConfig.oauthScopes), so nodes could not
# pull private images (devstorage.read_only). Pods never use these: Workload Identity
# (GKE_METADATA) gives them their own account. Why not a dedicated node account: the
# README's least-privilege section.
NODE_SERVICE_ACCOUNT = "default"
NODE_OAUTH_SCOPES = (
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
    "https://www.googleapis.com/auth/service.management.readonly",
    "https://www.googleapis.com/auth/servicecontrol",
    "https://www.googleapis.com/auth/trace.append",
)


@dataclass(frozen=True)
class GpuNodePool:
    """What `gcloud container node-pools create` takes in seed 004, and how it is bought."""

    cluster: str  # projects/P/locations/L/clusters/NAME
    name: str
    machine_type: str
    accelerator: str
    gpus_per_node: int
    nodes: int = 1  # per node location
    locations: tuple[str, ...] = ()
    # A3 High 1g/2g/4g shapes may not be sold on demand: Spot or Flex-start (DWS).
    spot: bool = False
    flex_start: bool = False
    disk_size_gb: int = BOOT_DISK_GB
    disk_type: str = BOOT_DISK_TYPE
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def resource_name(self) -> str:
        return f"{self.cluster}/nodePools/{self.name}"

    @property
    def cluster_name(self) -> str:
        return self.cluster.rsplit("/", 1)[-1]

    @property
    def location(self) -> str:
        return self.cluster.split("/")[3]


def node_pool_body(pool: GpuNodePool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "machineType": pool.machine_type,
        "diskSizeGb": pool.disk_size_gb,
        "diskType": pool.disk_type,
        "serviceAccount": NODE_SERVICE_ACCOUNT,
        "oauthScopes": list(NODE_OAUTH_SCOPES),
        "accelerators": [
            {
                "acceleratorType": pool.accelerator,
                "acceleratorCount": str(pool.gpus_per_node),
                # `gpu-driver-version=latest`: GKE installs the driver.
                "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
            }
        ],
        # Pods read Google APIs as their Workload Identity account, not the node's.
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "labels": {**MANAGED_BY_LABEL, **pool.labels},
        "resourceLabels": {**MANAGED_BY_LABEL, **pool.labels},
    }
    if pool.spot:
        config["spot"] = True
    if pool.flex_start:
        config["flexStart"] = True
    body: dict[str, Any] = {
        "name": pool.name,
        "initialNodeCount": pool.nodes,
        "config": config,
        "management": {"autoRepair": True, "autoUpgrade": True},
    }
    if pool.locations:
        body["locations"] = list(pool.locations)
    if pool.flex_start:
        # Flex-start nodes come through the autoscaler, from zero.
        body["autoscaling"] = {"enabled": True, "minNodeCount": 0, "maxNodeCount": pool.nodes}
        body["initialNodeCount"] = 0
    return {"nodePool": body}


def _cli(pool: GpuNodePool) -> str:
    where = f"--cluster={pool.cluster_name} --location={pool.location}"
    nodes = f" --node-locations={','.join(pool.locations)}" if pool.locations else ""
    buying = " --spot" if pool.spot else ""
    if pool.flex_start:
        buying = f" --flex-start --enable-autoscaling --num-nodes=0 --max-nodes={pool.nodes}"
    else:
        buying += f" --num-nodes={pool.nodes}"
    return (
        f"gcloud container node-pools create {pool.name} {where} "
        f"--machine-type={pool.machine_type} --accelerator type={pool.accelerator},"
        f"count={pool.gpus_per_node},gpu-driver-version=latest{nodes}{buying} "
        f"--disk-size={pool.disk_size_gb} --disk-type={pool.disk_type} "
        "--workload-metadata=GKE_METADATA"
    )


def create_node_pool_step(pool: GpuNodePool, *, billing: str = "") -> Step:
    return Step(
        key="create_node_pool",
        title=f"Create the GPU node pool {pool.name} ({pool.machine_type})",
        action="container.create_node_pool",
        request=ApiRequest(
            "container", "POST", f"/v1/{pool.cluster}/nodePools", node_pool_body(pool)
        ),
        cli=_cli(pool),
        required_role=ADMIN_ROLE,
        params={
            "parent": pool.cluster,
            "name": pool.resource_name,
            "owner": owner_keys_of(pool.labels),
            "deadline": NODE_POOL_OPERATION_DEADLINE.as_param(),
        },
        billing=billing,
    )


def delete_node_pool_step(pool: GpuNodePool, *, billing: str = "") -> Step:
    return Step(
        key="delete_node_pool",
        title=f"Delete the GPU node pool {pool.name}",
        action="container.delete_node_pool",
        request=ApiRequest("container", "DELETE", f"/v1/{pool.resource_name}"),
        cli=(
            f"gcloud container node-pools delete {pool.name} --cluster={pool.cluster_name} "
            f"--location={pool.location} --quiet"
        ),
        required_role=ADMIN_ROLE,
        params={
            "name": pool.resource_name,
            "owner": owner_keys_of(pool.labels),
            "deadline": NODE_POOL_OPERATION_DEADLINE.as_param(),
        },
        billing=billing,
    )


def check_gateway_cluster_step(cluster: str) -> Step:
    """Before anything is applied: the cluster has what the Inference Gateway needs."""
    name, location = cluster.rsplit("/", 1)[-1], cluster.split("/")[3]
    return Step(
        key="check_cluster",
        title=f"Check that {name} has the Gateway API, Workload Identity and GPU metrics",
        action="container.check_gateway_cluster",
        request=ApiRequest("container", "GET", f"/v1/{cluster}"),
        cli=(
            f"gcloud container clusters describe {name} --location={location} --format="
            '"value(networkConfig.gatewayApiConfig.channel,workloadIdentityConfig.workloadPool,'
            'monitoringConfig.componentConfig.enableComponents)"'
        ),
        required_role=VIEWER_ROLE,
        params={"name": cluster},
    )
