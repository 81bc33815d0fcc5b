"""The inference gateway target's own steps (deployments/targets/gke_inference_gateway/steps.py):
the Hugging Face token's Secret, filled from Secret Manager as it is applied, and the
wait for the Gateway and its route."""

import base64
from datetime import timedelta
from typing import Any

from django.utils import timezone

from gcp import kube, secret_manager
from runbook.executors.kube import conn_for
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting

GATEWAY_API = "gateway.networking.k8s.io/v1"
# How long GKE may take to program a load balancer before the step gives up.
GATEWAY_BUDGET = timedelta(minutes=30)
NO_SUBNET_HINT = (
    "Create a proxy-only subnet in the cluster's region and VPC, e.g. gcloud compute "
    "networks subnets create proxy-only --purpose=REGIONAL_MANAGED_PROXY --role=ACTIVE "
    "--region=REGION --network=NETWORK --range=10.129.0.0/23"
)


def apply_secret_from_secret_manager(claim: StepClaim) -> StepResult:
    params = claim.step.params
    token = secret_manager.access_latest(secret=params["secret"])
    manifest = dict(claim.step.request.body or {})
    manifest["data"] = {params["secret_key"]: base64.b64encode(token).decode()}
    kube.apply(conn_for(claim), manifest)
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
    params = claim.step.params
    conn, ns = conn_for(claim), params["namespace"]
    found = kube.read(conn, GATEWAY_API, "Gateway", params["gateway"], ns)
    if found is None:
        return Failed(f"The Gateway {ns}/{params['gateway']} is not there.", "Retry the rollout.")
    status = found.get("status") or {}
    gw = _conditions(status)
    programmed = (gw.get("Programmed") or {}).get("status") == "True"
    addresses = [a["value"] for a in status.get("addresses") or [] if a.get("value")]
    late = timezone.now() - claim.started_at > GATEWAY_BUDGET
    if not programmed or not addresses:
        message = _said(gw, "Programmed")
        if "proxy-only" in message:  # it never will until someone makes the subnet
            return Failed(f"GKE cannot program the Gateway: {message}", NO_SUBNET_HINT)
        if late:
            return Failed(f"The Gateway was not programmed in 30 minutes: {message}",
                          "Look at the Gateway's events (kubectl describe gateway).")  # fmt: skip
        return Waiting("gateway", f"GKE is programming the load balancer: {message}")
    route = kube.read(conn, GATEWAY_API, "HTTPRoute", params["route"], ns) or {}
    parents = (route.get("status") or {}).get("parents") or []
    conditions = _conditions(parents[0]) if parents else {}
    ok = all(
        (conditions.get(k) or {}).get("status") == "True" for k in ("Accepted", "ResolvedRefs")
    )
    if not ok:
        message = f"{_said(conditions, 'Accepted')}, {_said(conditions, 'ResolvedRefs')}"
        if late:
            return Failed(f"The HTTPRoute is not serving: {message}",
                          "Check the route's Gateway and InferencePool names.")  # fmt: skip
        return Waiting("gateway", f"The Gateway is at {addresses[0]}; its route: {message}")
    return Succeeded(
        f"The Gateway serves at {addresses[0]}; the route is Accepted.",
        # The listener is HTTP on port 80 (gateway.py): the endpoint's base URL.
        outputs={"gateway_address": addresses[0], "gateway_url": f"http://{addresses[0]}"},
    )
