"""The operations endpoints every API shares (v1 and v2 paths, one store)."""

from __future__ import annotations

from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.routing import ApiCall, Route
from sandbox.core.validation import MULTI_REGIONS, REGIONS


def get_operation(call: ApiCall) -> Message:
    op = call.state.operations.get(call.fields["name"])
    if op is None:
        raise errors.not_found(f"Operation '{call.fields['name']}' not found.")
    return op.to_pb()


def delete_operation(call: ApiCall) -> Message:
    if not call.state.operations.delete(call.fields["name"]):
        raise errors.not_found(f"Operation '{call.fields['name']}' not found.")
    return empty_pb2.Empty()


def routes() -> list[Route]:
    locs = REGIONS | MULTI_REGIONS | {"global"}
    name = "/%s/{name=projects/*/locations/*/operations/*}"
    get = operations_pb2.GetOperationRequest
    delete = operations_pb2.DeleteOperationRequest
    return [
        Route("GET", name % "v1", get_operation, get, "operations.get", "googleapis.com", locs),
        Route(
            "GET", name % "v2", get_operation, get, "run.operations.get", "run.googleapis.com", locs
        ),
        Route(
            "DELETE",
            name % "v2",
            delete_operation,
            delete,
            "run.operations.delete",
            "run.googleapis.com",
            locs,
        ),
    ]
