"""What running one step can come to; the runner records each and decides what follows."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Succeeded:
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting:
    """Google is working; check again later. `operation` is what to poll."""

    operation: str
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """A transient failure (429, 5xx, timeout): try the same call again after a pause.

    `outputs` are recorded too: what a later run must know, such as when a create whose
    answer never came was sent."""

    error: str
    outputs: dict[str, Any] = field(default_factory=dict)
    # False: a wait that is no failure (a new service account not yet visible), bounded
    # by the executor's own deadline instead of the step's retries.
    counted: bool = True
    # For an uncounted wait: seconds until the next check, when the executor knows the
    # thing it waits on better than the poll backoff does (a model loading for minutes).
    countdown: float | None = None
    # Which call failed ("DELETE /storage/v1/b/B/o/O"): retries are counted per call, and
    # start again once a call gets through (runbook/ledger.py). Empty: the step's own.
    call: str = ""


@dataclass(frozen=True)
class Failed:
    error: str
    hint: str = ""


StepResult = Succeeded | Waiting | Retry | Failed
