"""Kubernetes steps (deployments/targets/kube_steps.py): apply an object, delete one and
wait until it is gone. The cluster's endpoint and CA come from Hangar's record of it."""

from typing import Any

from clusters.selectors import cluster_endpoint
from deployments.services.rollout import StepClaim, StepResult, Succeeded, Waiting
from gcp import kube


def conn_for(params: dict[str, Any]) -> kube.ClusterConn:
    endpoint, ca = cluster_endpoint(cluster_id=int(params["cluster"]))
    return kube.ClusterConn(endpoint, ca)


def _named(params: dict[str, Any]) -> str:
    namespace = f"{params['namespace']}/" if params.get("namespace") else ""
    return f"{params['kind']} {namespace}{params['name']}"


def apply(claim: StepClaim) -> StepResult:
    params = claim.step.params
    applied = kube.apply(conn_for(params), claim.step.request.body or {})
    generation = applied.get("metadata", {}).get("generation")
    return Succeeded(f"Applied {_named(params)} (generation {generation}).")


def delete(claim: StepClaim) -> StepResult:
    """Ask once, then look until the API server no longer has it; never sleeps."""
    params = claim.step.params
    conn = conn_for(params)
    where = (params["api_version"], params["kind"], params["name"], params.get("namespace"))
    if not claim.operation:
        if not kube.delete(conn, *where):
            return Succeeded(f"{_named(params)} was already gone.")
        return Waiting(f"delete:{_named(params)}", f"Kubernetes is deleting {_named(params)}.")
    if kube.read(conn, *where) is None:
        return Succeeded(f"{_named(params)} is gone.")
    return Waiting(claim.operation, f"{_named(params)} is still being deleted (finalizers).")
