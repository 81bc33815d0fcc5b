"""Smoke tests of a GKE model server through the API server's service proxy: /health,
then a real chat completion. There is no load balancer; the portal's Google credentials
and the cluster's CA are what reach it.

And the check a Gateway's address passes before it becomes an endpoint: a Gateway's
status.addresses[].value is free text to the API server
(https://gateway-api.sigs.k8s.io/reference/spec/#gatewaystatusaddress), and an endpoint is
where the portal sends requests from inside the VPC, so only an IP address of the VPC (an
internal Gateway) or a public one (an external Gateway an approver allowed) is taken."""

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from gcp import kube
from gcp.errors import kube_permission_hint
from gcp.settings import gcp_setting
from runbook.executors.endpoint_calls import not_ready_yet, smoke_check_timeout
from runbook.executors.kube import conn_for
from runbook.owners import StepClaim
from runbook.plan import SERVICE_PROXY_URL_OUTPUT
from runbook.results import Failed, Retry, StepResult, Succeeded


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")[:500]


def _api_server_trouble(claim: StepClaim, status: int, data: bytes) -> StepResult | None:
    """What the API server itself said, before the model server had a say: busy (429,
    API Priority and Fairness) or failing (5xx) is tried again; a refused credential names
    the role Hangar's identity needs for the proxy."""
    if status == 429 or status in (500, 502, 504):
        return Retry(f"The cluster's API server answered {status}: {_text(data)}")
    if status in (401, 403):
        refusal = _status_object(data)
        hint = (
            kube_permission_hint(
                refusal, gcp_setting("PORTAL_SERVICE_ACCOUNT"), claim.step.required_role
            )
            if status == 403 and refusal
            else f"Hangar's identity needs {claim.step.required_role} on the project (it "
            "carries container.services.proxy, what the API server's service proxy asks for)."
        )
        return Failed(
            f"The cluster's API server refused Hangar's credential ({status}): {_text(data)}",
            hint,
        )
    return None


def _status_object(data: bytes) -> dict[str, Any]:
    """The API server's Status object in a reply body, or {} when it is none."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) and parsed.get("kind") == "Status" else {}


def proxy_health(claim: StepClaim) -> StepResult:
    """/health through the proxy; once it passes, the proxy's base URL is the endpoint's
    address (an output, read when the deployment becomes ready)."""
    request = claim.step.request
    conn = conn_for(claim)
    reply = kube.proxy(conn, "GET", request.path, timeout=smoke_check_timeout(claim))
    if reply.status == 503:  # no ready pod yet (the model loading), or its server restarting
        return not_ready_yet(claim, f"The service proxy answered 503: {_text(reply.data)}")
    trouble = _api_server_trouble(claim, reply.status, reply.data)
    if trouble is not None:
        return trouble
    if reply.status != 200:
        return Failed(
            f"/health answered {reply.status}: {_text(reply.data)}",
            "The container behind the Service is not vLLM's OpenAI server; check the image "
            "and the Service's selector.",
        )
    return Succeeded(
        "vLLM is healthy (through the API server's service proxy).",
        outputs={SERVICE_PROXY_URL_OUTPUT: kube.proxy_base(conn, request.path)},
    )


def proxy_chat(claim: StepClaim) -> StepResult:
    request = claim.step.request
    body: dict[str, Any] = request.body or {}
    reply = kube.proxy(conn_for(claim), "POST", request.path, body)
    if reply.status == 503:
        return Retry(f"The service proxy answered {reply.status}: {_text(reply.data)}")
    trouble = _api_server_trouble(claim, reply.status, reply.data)
    if trouble is not None:
        return trouble
    content = ""
    if reply.status == 200:
        try:
            choices = json.loads(reply.data).get("choices")
        except (ValueError, AttributeError):
            choices = None
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            content = str((choices[0].get("message") or {}).get("content") or "")
    if not content:
        return Failed(
            f"The model's reply was not a chat completion ({reply.status}): {_text(reply.data)}",
            f"vLLM serves the model as {body.get('model')!r} (--served-model-name); check the "
            "Deployment's arguments.",
        )
    return Succeeded(f"The model answered: {content[:200]}")


# The metadata server's addresses (https://cloud.google.com/compute/docs/metadata/querying-metadata):
# link-local already, named so the failure says what it is.
METADATA_SERVER = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd20:ce::254")}
)


def gateway_address_problem(value: str, *, vpc_ranges: Iterable[str], external: bool) -> str:
    """Why a Gateway's reported address may not become an endpoint; "" when it may.

    Only a bare IP address: no host name (it would resolve wherever DNS says, and bypass
    the VPC proxy), no port, credentials or path. Never loopback, link-local (the metadata
    server among them), unspecified, multicast or reserved. An internal Gateway's is inside
    the VPC's ranges; an external one's is a public address."""
    shown = repr(value[:200])
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return f"The Gateway reports the address {shown}, which is not an IP address."
    if address in METADATA_SERVER:
        return f"The Gateway reports {shown}, the metadata server's address."
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return f"The Gateway reports {shown}, a loopback, link-local or unspecified address."
    if address.is_multicast or address.is_reserved:
        return f"The Gateway reports {shown}, a multicast or reserved address."
    if external:
        if address.is_global:
            return ""
        return f"The Gateway is external but reports {shown}, which is not a public address."
    networks = [ipaddress.ip_network(r, strict=False) for r in vpc_ranges]
    if any(address.version == n.version and address in n for n in networks):
        return ""
    ranges = ", ".join(str(n) for n in networks) or "none configured"
    return f"The Gateway reports {shown}, outside the VPC's ranges ({ranges})."


def checked_gateway_address(value: str, *, external: bool) -> str:
    """gateway_address_problem against the VPC's ranges as configured (GCP_VPC_RANGES)."""
    return gateway_address_problem(
        value, vpc_ranges=gcp_setting("VPC_RANGES") or (), external=external
    )


GATEWAY_ADDRESS_HINT = (
    "Hangar takes a Gateway's address only when it is an IP address in the VPC's ranges "
    "(GCP_VPC_RANGES), or a public one for an external Gateway. Look at the Gateway's "
    "status (kubectl get gateway -o yaml) and who may write it."
)
