"""The check before anything of seed 004's is applied to a cluster: a cluster Hangar
created has all the Inference Gateway needs (clusters/plans.py standard_create_body); a
registered one may not, and what it lacks is named with the gcloud line that adds it."""

from gcp import container
from gcp.container import ClusterInfo
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded


def inference_gateway_gaps(info: ClusterInfo, *, name: str, location: str) -> list[str]:
    """Empty when the cluster can run the target; else one line per missing piece."""
    where = f"{name} --location={location}"
    gaps = []
    if info.autopilot:
        gaps.append("It is an Autopilot cluster: the GPU node pool needs GKE Standard.")
    if info.gateway_api not in ("CHANNEL_STANDARD", "CHANNEL_EXPERIMENTAL"):
        gaps.append(
            f"The Gateway API is off: gcloud container clusters update {where} "
            "--gateway-api=standard"
        )
    if not info.vpc_native:
        gaps.append("It is not VPC-native (alias IPs), which GKE's Gateway needs: recreate it.")
    if not info.http_load_balancing:
        gaps.append(
            f"HTTP load balancing is off: gcloud container clusters update {where} "
            "--update-addons=HttpLoadBalancing=ENABLED"
        )
    if not info.workload_pool:
        gaps.append(
            f"Workload Identity is off: gcloud container clusters update {where} "
            "--workload-pool=PROJECT_ID.svc.id.goog"
        )
    if not info.managed_prometheus or "DCGM" not in info.monitoring:
        gaps.append(
            f"GPU metrics are off: gcloud container clusters update {where} "
            "--enable-managed-prometheus --monitoring=SYSTEM,DCGM"
        )
    return gaps


def check_gateway_cluster(claim: StepClaim) -> StepResult:
    name = claim.step.params["name"]
    info = container.get_cluster(name)
    parts = name.split("/")
    gaps = inference_gateway_gaps(info, name=parts[-1], location=parts[3])
    if gaps:
        return Failed(
            f"Cluster {parts[-1]} cannot run the Inference Gateway: {' '.join(gaps)}",
            "Fix the cluster as said (or choose another), then retry.",
        )
    return Succeeded(f"Cluster {parts[-1]} has the Gateway API, Workload Identity and DCGM.")
