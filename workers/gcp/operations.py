"""Reading a google.longrunning Operation the same way for every API."""

from dataclasses import dataclass
from typing import Any

from google.rpc import code_pb2


@dataclass(frozen=True)
class OperationState:
    done: bool
    error: str = ""


def operation_state(operation: Any) -> OperationState:
    """`operation` is an operations_pb2.Operation from a client's get_operation()."""
    if not operation.done:
        return OperationState(done=False)
    if operation.HasField("error") and operation.error.code != code_pb2.OK:
        name = code_pb2.Code.Name(operation.error.code)
        return OperationState(done=True, error=f"{name}: {operation.error.message}")
    return OperationState(done=True)
