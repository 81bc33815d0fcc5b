"""Kubernetes steps (deployments/targets/kube_steps.py): apply an object, delete one and
wait until it is gone. The cluster's endpoint and CA come with the claim, from Hangar's
record of the cluster."""

from typing import Any

from gcp import kube
from runbook.owners import StepClaim
from runbook.results import StepResult, Succeeded, Waiting


def conn_for(claim: StepClaim) -> kube.ClusterConn:
    """The cluster the step talks to, as its owner handed it over with the claim."""
    if claim.cluster is None:
        raise LookupError(f"{claim.owner_name} has no GKE cluster for {claim.step.key}.")
    return claim.cluster


def _named(params: dict[str, Any]) -> str:
    namespace = f"{params['namespace']}/" if params.get("namespace") else ""
    return f"{params['kind']} {namespace}{params['name']}"


def apply(claim: StepClaim) -> StepResult:
    params = claim.step.params
    applied = kube.apply(conn_for(claim), claim.step.request.body or {})
    generation = applied.get("metadata", {}).get("generation")
    return Succeeded(f"Applied {_named(params)} (generation {generation}).")


def delete(claim: StepClaim) -> StepResult:
    """Ask once, then look until the API server no longer has it; never sleeps."""
    params = claim.step.params
    conn = conn_for(claim)
    where = (params["api_version"], params["kind"], params["name"], params.get("namespace"))
    if not claim.operation:
        if not kube.delete(conn, *where):
            return Succeeded(f"{_named(params)} was already gone.")
        return Waiting(f"delete:{_named(params)}", f"Kubernetes is deleting {_named(params)}.")
    if kube.read(conn, *where) is None:
        return Succeeded(f"{_named(params)} is gone.")
    return Waiting(claim.operation, f"{_named(params)} is still being deleted (finalizers).")
