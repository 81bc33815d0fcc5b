"""The executors of the actions only this target's plans use, declared on its TargetDef
(`executors`); the deployment owner hands them to the engine beside runbook's generic
ones (runbook/executors/). Each is idempotent and never sleeps, as those are.

- Node pools (node_pools.py): create the deployment's GPU node pool once the cluster is
  idle, delete it. A create that finds a pool of its name carries on only when the pool's
  labels name this deployment (else it fails naming the owner); a delete reads first and
  removes only its own (none: done); a cluster busy with another operation (GKE runs one
  at a time) is waited for.
- The check before anything of seed 004's is applied to a cluster: a cluster Hangar
  created has all the Inference Gateway needs (clusters/plans.py standard_create_body); a
  registered one may not, and what it lacks is named with the gcloud line that adds it.
- The target's own Kubernetes steps (steps.py): the Hugging Face token's Secret, filled
  from Secret Manager as it is applied, and the wait for the Gateway and its route.
"""

import base64
from collections.abc import Mapping
from typing import Any

from google.api_core import exceptions as gexc

from gcp import container, kube, secret_manager
from gcp.container import ClusterInfo
from runbook.executors.kube import NOT_OURS_HINT, conn_for, owned_apply
from runbook.executors.kube_endpoint import GATEWAY_ADDRESS_HINT, checked_gateway_address
from runbook.executors.operations import after_operation
from runbook.owners import Executor, StepClaim
from runbook.ownership import owned_by, owner_of
from runbook.results import Failed, StepResult, Succeeded, Waiting

GATEWAY_API = "gateway.networking.k8s.io/v1"
NO_SUBNET_HINT = (
    "Create a proxy-only subnet in the cluster's region and VPC, e.g. gcloud compute "
    "networks subnets create proxy-only --purpose=REGIONAL_MANAGED_PROXY --role=ACTIVE "
    "--region=REGION --network=NETWORK --range=10.129.0.0/23"
)


# Node pools


def _busy(exc: gexc.GoogleAPICallError) -> StepResult:
    return Waiting("", f"GKE is busy with another operation on the cluster: {exc.message}")


def _pool_not_ours(claim: StepClaim, labels: dict[str, str]) -> Failed:
    return Failed(
        f"The node pool {claim.step.params['name'].rsplit('/', 1)[-1]} already exists and "
        f"belongs to {owner_of(labels)}, not to {owner_of(claim.step.params.get('owner'))}.",
        NOT_OURS_HINT,
    )


def create_node_pool(claim: StepClaim) -> StepResult:
    params = claim.step.params
    if claim.operation:
        return after_operation(claim, container.operation_state(claim.operation))
    try:
        operation = container.create_node_pool(
            parent=params["parent"], body=claim.step.request.body or {}
        )
    except gexc.Conflict:
        # Ours only if its labels say so (created before a crash); a pool of the same name
        # someone else made is neither used nor, later, deleted.
        found = container.node_pool_labels(params["name"])
        if found is None:
            return Waiting("", "The node pool was being deleted; GKE is asked again.")
        status, labels = found
        if not owned_by(labels, params.get("owner") or {}):
            return _pool_not_ours(claim, labels)
        if status in ("RUNNING", "RUNNING_WITH_ERROR"):
            return Succeeded("The node pool, this deployment's own, already exists.")
        return Waiting("", f"The node pool is {status}.")
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        return _busy(exc)
    return Waiting(operation, "GKE is creating the node pool (GPU nodes take minutes).")


def delete_node_pool(claim: StepClaim) -> StepResult:
    """Read first: only a pool whose labels say it is this deployment's is deleted."""
    params = claim.step.params
    if claim.operation:
        return after_operation(claim, container.operation_state(claim.operation))
    found = container.node_pool_labels(params["name"])
    if found is None:
        return Succeeded("The node pool was already gone.")
    if not owned_by(found[1], params.get("owner") or {}):
        return Succeeded(
            f"The node pool {params['name'].rsplit('/', 1)[-1]} belongs to "
            f"{owner_of(found[1])}: left in place."
        )
    try:
        operation = container.delete_node_pool(params["name"])
    except gexc.BadRequest as exc:
        if not container.is_busy(exc):
            raise
        return _busy(exc)
    if operation is None:
        return Succeeded("The node pool was already gone.")
    return Waiting(operation, "GKE is deleting the node pool.")


# The cluster check


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


# The token's Secret and the Gateway


def apply_secret_from_secret_manager(claim: StepClaim) -> StepResult:
    params = claim.step.params
    token = secret_manager.access_latest(secret=params["secret"])
    manifest = dict(claim.step.request.body or {})
    manifest["data"] = {params["secret_key"]: base64.b64encode(token).decode()}
    applied = owned_apply(claim, manifest)
    if not isinstance(applied, dict):
        return applied
    # The message names where the value came from, never the value.
    return Succeeded(
        f"Secret {params['namespace']}/{params['name']} holds the latest version of "
        f"{params['secret']}."
    )


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in obj.get("conditions") or []}


def _said(conditions: dict[str, dict[str, Any]], kind: str) -> str:
    c = conditions.get(kind) or {}
    return f"{kind}={c.get('status', 'Unknown')} ({c.get('reason', '')}: {c.get('message', '')})"


def wait_gateway(claim: StepClaim) -> StepResult:
    """Polled until the Gateway is Programmed with an address and its route Accepted; how
    long it may take is the step's declared deadline (the ledger fails it past that, with
    the last state said here). The address is checked before anything calls it."""
    params = claim.step.params
    conn, ns = conn_for(claim), params["namespace"]
    found = kube.read(conn, GATEWAY_API, "Gateway", params["gateway"], ns)
    if found is None:
        return Failed(f"The Gateway {ns}/{params['gateway']} is not there.", "Retry the rollout.")
    status = found.get("status") or {}
    gw = _conditions(status)
    programmed = (gw.get("Programmed") or {}).get("status") == "True"
    addresses = [a["value"] for a in status.get("addresses") or [] if a.get("value")]
    if not programmed or not addresses:
        message = _said(gw, "Programmed")
        if "proxy-only" in message:  # it never will until someone makes the subnet
            return Failed(f"GKE cannot program the Gateway: {message}", NO_SUBNET_HINT)
        return Waiting("gateway", f"GKE is programming the load balancer: {message}")
    # Free text to the API server: only an address of the VPC (or a public one for an
    # external Gateway) may become the endpoint, never a host name or loopback.
    problem = checked_gateway_address(addresses[0], external=bool(params.get("external")))
    if problem:
        return Failed(problem, GATEWAY_ADDRESS_HINT)
    route = kube.read(conn, GATEWAY_API, "HTTPRoute", params["route"], ns) or {}
    parents = (route.get("status") or {}).get("parents") or []
    conditions = _conditions(parents[0]) if parents else {}
    ok = all(
        (conditions.get(k) or {}).get("status") == "True" for k in ("Accepted", "ResolvedRefs")
    )
    if not ok:
        message = f"{_said(conditions, 'Accepted')}, {_said(conditions, 'ResolvedRefs')}"
        return Waiting("gateway", f"The Gateway is at {addresses[0]}; its route: {message}")
    return Succeeded(
        f"The Gateway serves at {addresses[0]}; the route is Accepted.",
        # The listener is HTTP on port 80 (gateway.py): the endpoint's base URL.
        outputs={"gateway_address": addresses[0], "gateway_url": f"http://{addresses[0]}"},
    )


EXECUTORS: Mapping[str, Executor] = {
    "container.check_gateway_cluster": check_gateway_cluster,
    "container.create_node_pool": create_node_pool,
    "container.delete_node_pool": delete_node_pool,
    "kube.apply_secret_from_secret_manager": apply_secret_from_secret_manager,
    "kube.wait_gateway": wait_gateway,
}
