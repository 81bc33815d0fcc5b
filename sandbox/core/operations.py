"""Long-running operations of every API, in one store keyed by full name.

Operations are settled lazily: each one knows when it is due, and `advance()`
(called before any request is served) completes the due ones in order, so no
background loop is needed and effects happen in the order time implies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from google.longrunning import operations_pb2
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2


class OperationFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Operation:
    name: str
    metadata: Callable[[], Message]
    done_at: float
    finish: Callable[[], Message]
    on_error: Callable[[int, str], None] | None = None
    forced_error: tuple[int, str] | None = None
    # google.rpc detail messages (ErrorInfo as JSON) the failed operation's status carries.
    error_details: list[dict[str, object]] = field(default_factory=list)
    done: bool = False
    response: Message | None = None
    error: tuple[int, str] | None = None
    created: float = field(default_factory=time.time)

    def complete(self) -> None:
        if self.done:
            return
        self.done = True
        if self.forced_error is not None:
            self.error = self.forced_error
            if self.on_error is not None:
                self.on_error(*self.forced_error)
            return
        try:
            self.response = self.finish()
        except OperationFailed as exc:
            self.error = (exc.code, exc.message)

    def to_pb(self) -> operations_pb2.Operation:
        op = operations_pb2.Operation(name=self.name, done=self.done)
        meta = any_pb2.Any()
        meta.Pack(self.metadata())
        op.metadata.CopyFrom(meta)
        if self.done and self.error is not None:
            status = status_pb2.Status(code=self.error[0], message=self.error[1])
            for detail in self.error_details:
                info = {k: v for k, v in detail.items() if k != "@type"}
                packed = any_pb2.Any()
                packed.Pack(json_format.ParseDict(info, error_details_pb2.ErrorInfo()))
                status.details.append(packed)
            op.error.CopyFrom(status)
        elif self.done and self.response is not None:
            resp = any_pb2.Any()
            resp.Pack(self.response)
            op.response.CopyFrom(resp)
        return op


class OperationStore:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}

    def clear(self) -> None:
        self._ops.clear()

    def create(
        self,
        parent: str,
        delay: float,
        metadata: Callable[[], Message],
        finish: Callable[[], Message],
        on_error: Callable[[int, str], None] | None = None,
        forced_error: tuple[int, str] | None = None,
        op_id: str | None = None,
        error_details: list[dict[str, object]] | None = None,
    ) -> Operation:
        """Start an operation under `parent` (projects/P/locations/L)."""
        name = f"{parent}/operations/{op_id or uuid.uuid4()}"
        op = Operation(
            name=name,
            metadata=metadata,
            done_at=time.time() + delay,
            finish=finish,
            on_error=on_error,
            forced_error=forced_error,
            error_details=list(error_details or []),
        )
        self._ops[name] = op
        return op

    def get(self, name: str) -> Operation | None:
        return self._ops.get(name)

    def delete(self, name: str) -> bool:
        return self._ops.pop(name, None) is not None

    def advance(self, now: float) -> None:
        due = sorted(
            (op for op in self._ops.values() if not op.done and op.done_at <= now),
            key=lambda op: op.done_at,
        )
        for op in due:
            op.complete()

    def all(self) -> list[Operation]:
        return list(self._ops.values())
