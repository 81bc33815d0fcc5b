"""Reading a google.longrunning Operation the same way for every API."""

from dataclasses import dataclass, field
from typing import Any

from google.rpc import code_pb2

from gcp.errors import ErrorDetail, status_detail


@dataclass(frozen=True)
class OperationState:
    done: bool
    error: str = ""
    # The failed operation's google.rpc.ErrorInfo, e.g. which quota ran out.
    detail: ErrorDetail = field(default_factory=ErrorDetail)
    # The google.rpc.Code name of a failed operation (RESOURCE_EXHAUSTED...).
    code: str = ""
    # Where a running one is, as the API says it (GKE: PENDING, RUNNING, ABORTING).
    status: str = ""


def operation_state(operation: Any) -> OperationState:
    """`operation` is an operations_pb2.Operation from a client's get_operation()."""
    if not operation.done:
        return OperationState(done=False)
    if operation.HasField("error") and operation.error.code != code_pb2.OK:
        name = code_pb2.Code.Name(operation.error.code)
        return OperationState(
            done=True,
            error=f"{name}: {operation.error.message}",
            detail=status_detail(operation.error.details),
            code=name,
        )
    return OperationState(done=True)
