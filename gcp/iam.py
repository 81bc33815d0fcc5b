"""IAM Admin: the service account each deployment runs as.

google-cloud-iam's IAMClient speaks gRPC only (2.26.0 has no REST transport), so
this adapter sends the same REST requests through google-auth's AuthorizedSession,
parses replies into the client's own message types, and raises the same
google.api_core exceptions as every other adapter.
"""

import json
from typing import Any

from google.api_core import exceptions as gexc
from google.auth.transport.requests import AuthorizedSession
from google.cloud import iam_admin_v1

from gcp.clients import api_base, call_timeout, credentials, universe_domain
from gcp.iam_policy import POLICY_VERSION, PolicyJson, read_modify_write
from gcp.universe import service_account_email


def _send(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = AuthorizedSession(credentials()).request(
        method, f"{api_base('iam')}{path}", json=body, timeout=call_timeout()
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)
    parsed: dict[str, Any] = response.json() if response.content else {}
    return parsed


def ensure_service_account(*, project: str, body: dict[str, Any]) -> tuple[str, bool]:
    """Create the account unless it exists; returns its email and whether it was created."""
    request = iam_admin_v1.CreateServiceAccountRequest.from_json(json.dumps(body))
    email = service_account_email(request.account_id, project, universe_domain())
    try:
        created = _send("POST", f"/v1/projects/{project}/serviceAccounts", body)
    except (gexc.AlreadyExists, gexc.Conflict):  # over REST, ALREADY_EXISTS arrives as a 409
        return email, False
    return iam_admin_v1.ServiceAccount.from_json(json.dumps(created)).email, True


def service_account_description(name: str) -> str | None:
    """The description of `projects/P/serviceAccounts/EMAIL` (where Hangar notes its owner);
    None if there is no such account."""
    try:
        found = _send("GET", f"/v1/{name}")
    except gexc.NotFound:
        return None
    return str(found.get("description") or "")


def delete_service_account(name: str) -> bool:
    """Delete `projects/P/serviceAccounts/EMAIL`; False if it was already gone."""
    try:
        _send("DELETE", f"/v1/{name}")
    except gexc.NotFound:
        return False
    return True


def grant_service_account_role(*, project: str, email: str, member: str, role: str) -> bool:
    """Give `member` `role` on the service account itself (who may act as it, e.g.
    Workload Identity's roles/iam.workloadIdentityUser); True if the policy changed."""
    resource = f"/v1/projects/{project}/serviceAccounts/{email}"

    def read() -> PolicyJson:
        body = {"options": {"requestedPolicyVersion": POLICY_VERSION}}
        return _send("POST", f"{resource}:getIamPolicy", body)

    def write(policy: PolicyJson) -> object:
        return _send("POST", f"{resource}:setIamPolicy", {"policy": policy})

    return read_modify_write(read, write, role=role, add=[member])
