"""The one guarded status change every owner's state machine goes through."""

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models, transaction


class InvalidMove(Exception):
    """A move the owner's transition table lacks; its app renders it (as a 409)."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def guarded_transition(
    *,
    row: models.Model,
    to: Any,
    table: Mapping[Any, frozenset[Any]],
    name: str,
    changes: dict[str, Any] | None = None,
    record: Callable[[Any, Any], None],
) -> Any:
    """Move `row` to `to` on a locked copy, with `changes`, and `record(locked, before)`
    (the owner's timeline event and audit row) in the same transaction; refuse a move
    `table` lacks with InvalidMove. `name` says what moved in that refusal."""
    with transaction.atomic():
        locked = type(row)._default_manager.select_for_update().get(pk=row.pk)
        current = type(to)(locked.status)  # type: ignore[attr-defined]
        if to not in table[current]:
            raise InvalidMove(
                f"{name} is {current.label.lower()}; it cannot become {to.label.lower()}.",
                status=current.value,
            )
        for field, value in (changes or {}).items():
            setattr(locked, field, value)
        locked.status = to  # type: ignore[attr-defined]
        locked.save()
        record(locked, current)
    row.refresh_from_db()
    return row
