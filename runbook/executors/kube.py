"""Kubernetes steps (deployments/targets/kube_steps.py): apply an object, delete one and
wait until it is gone. The cluster's endpoint and CA come with the claim, from Hangar's
record of the cluster.

A cluster is shared, so each step reads the object first and touches it only when its
labels name the owner the step expects (`params["owner"]`, runbook/ownership.py): an
apply adopts what it finds only then, and otherwise fails naming the owner it found; a
delete removes only what is the deployment's own and leaves anything else in place.
"""

from typing import Any

from gcp import kube
from runbook.owners import StepClaim
from runbook.ownership import owned_by, owner_of
from runbook.results import Failed, StepResult, Succeeded, Waiting

NOT_OURS_HINT = (
    "Another deployment, team or tool owns an object under this name: Hangar neither adopts "
    "nor changes it. Have its owner remove it (or choose another cluster), then retry."
)


def conn_for(claim: StepClaim) -> kube.ClusterConn:
    """The cluster the step talks to, as its owner handed it over with the claim."""
    if claim.cluster is None:
        raise LookupError(f"{claim.owner_name} has no GKE cluster for {claim.step.key}.")
    return claim.cluster


def _named(params: dict[str, Any]) -> str:
    namespace = f"{params['namespace']}/" if params.get("namespace") else ""
    return f"{params['kind']} {namespace}{params['name']}"


def _where(params: dict[str, Any]) -> tuple[str, str, str, str | None]:
    return (params["api_version"], params["kind"], params["name"], params.get("namespace"))


def _labels(found: dict[str, Any] | None) -> dict[str, str]:
    return dict(((found or {}).get("metadata") or {}).get("labels") or {})


def foreign(params: dict[str, Any], found: dict[str, Any] | None) -> Failed | None:
    """The refusal when an object exists under the step's name and is not the owner's."""
    if found is None or owned_by(_labels(found), params.get("owner") or {}):
        return None
    return Failed(
        f"{_named(params)} already exists and belongs to {owner_of(_labels(found))}, "
        f"not to {owner_of(params.get('owner'))}.",
        NOT_OURS_HINT,
    )


def owned_apply(claim: StepClaim, manifest: dict[str, Any]) -> StepResult | dict[str, Any]:
    """Apply the manifest if the object is absent or the step's owner's; the object as
    applied, or why not. An object another deployment owns and this step only contributes
    to (`create: False`) is never made again once its owner has removed it."""
    params, conn = claim.step.params, conn_for(claim)
    found = kube.read(conn, *_where(params))
    refused = foreign(params, found)
    if refused:
        return refused
    if found is None and params.get("create") is False:
        if params.get("missing_ok"):
            return Succeeded(f"{_named(params)} is gone with its owner: nothing to change.")
        return Failed(
            f"{_named(params)} is not there: {owner_of(params.get('owner'))} no longer has it.",
            "Its owner must be deployed (ready) first; then retry.",
        )
    return kube.apply(conn, manifest)


def apply(claim: StepClaim) -> StepResult:
    params = claim.step.params
    applied = owned_apply(claim, claim.step.request.body or {})
    if not isinstance(applied, dict):
        return applied
    generation = applied.get("metadata", {}).get("generation")
    return Succeeded(f"Applied {_named(params)} (generation {generation}).")


def delete(claim: StepClaim) -> StepResult:
    """Read, then ask once if it is ours, then look until the API server no longer has it;
    never sleeps. A 404 at any point is done."""
    params = claim.step.params
    conn = conn_for(claim)
    found = kube.read(conn, *_where(params))
    if found is None:
        gone = "is gone" if claim.operation else "was already gone"
        return Succeeded(f"{_named(params)} {gone}.")
    if not owned_by(_labels(found), params.get("owner") or {}):
        return Succeeded(f"{_named(params)} belongs to {owner_of(_labels(found))}: left in place.")
    if not claim.operation:
        if not kube.delete(conn, *_where(params)):
            return Succeeded(f"{_named(params)} was already gone.")
        return Waiting(f"delete:{_named(params)}", f"Kubernetes is deleting {_named(params)}.")
    return Waiting(claim.operation, f"{_named(params)} is still being deleted (finalizers).")
