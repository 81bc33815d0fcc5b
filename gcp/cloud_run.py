"""Cloud Run Admin v2: services, their IAM policy, and their operations."""

import json
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import run_v2

from gcp.clients import NO_RETRY, call_timeout, make_client
from gcp.iam_policy import read_modify_write, rpc_policy_io
from gcp.operations import OperationState, operation_state

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


@dataclass(frozen=True)
class ServiceState:
    ready: bool
    failed: bool
    reconciling: bool
    uri: str
    message: str


def _client() -> Any:
    return make_client(run_v2.ServicesClient)


def apply_service(*, name: str, body: dict[str, Any]) -> str:
    """Create or update the service (allow_missing); returns the operation name."""
    service = run_v2.Service.from_json(json.dumps(body))
    service.name = name
    operation = _client().update_service(
        request=run_v2.UpdateServiceRequest(service=service, allow_missing=True),
        retry=NO_RETRY,
        timeout=call_timeout(),
    )
    return str(operation.operation.name)


def get_operation(name: str) -> OperationState:
    return operation_state(
        _client().get_operation(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    )


def get_service(name: str) -> ServiceState:
    service = _client().get_service(name=name, retry=NO_RETRY, timeout=call_timeout())
    condition = service.terminal_condition
    state = run_v2.Condition.State
    return ServiceState(
        ready=not service.reconciling and condition.state == state.CONDITION_SUCCEEDED,
        failed=not service.reconciling and condition.state == state.CONDITION_FAILED,
        reconciling=service.reconciling,
        uri=service.uri,
        message=condition.message,
    )


def grant_invoker(*, name: str, member: str, role: str) -> bool:
    """Make `member` an invoker and nobody public; True if the policy had to change.

    Only the role's unconditional binding is touched (gcp.iam_policy). That is
    the only place a public invoker can be: Google refuses a condition on a binding to
    allUsers or allAuthenticatedUsers (https://cloud.google.com/iam/docs/conditions-overview).
    """
    read, write = rpc_policy_io(_client(), name)
    return read_modify_write(read, write, role=role, add=[member], remove=PUBLIC_MEMBERS)


def delete_service(name: str) -> str | None:
    """Start deleting the service; None if it is already gone."""
    try:
        operation = _client().delete_service(name=name, retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return None
    return str(operation.operation.name)
