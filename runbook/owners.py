"""Who plans belong to. Each app whose rows run plans (deployments, clusters) registers an
adapter here; the engine asks it what it cannot know itself."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import models
from django.db.models import Q

from gcp.kube_conn import ClusterConn
from gcp.model_server import Endpoint
from runbook.plan import Plan, Step
from runbook.results import Failed, Retry, StepResult


@dataclass(frozen=True)
class StepClaim:
    """A step this worker holds the lease on, with what it needs to run it."""

    owner_kind: str
    owner_id: int
    run_id: int
    lease_owner: str
    step: Step
    operation: str
    retries: int
    started_at: datetime
    # What earlier steps of this owner's plans produced (image digest, service URL...).
    outputs: dict[str, Any] = field(default_factory=dict)
    # The model server the owner runs, as its target declares it (None: it runs none).
    endpoint: Endpoint | None = None
    # The GKE cluster a Kubernetes step talks to, as Hangar last read it.
    cluster: ClusterConn | None = None

    @property
    def owner_name(self) -> str:
        """How the log names what the step belongs to ("deployment 7", "cluster 2")."""
        return f"{self.owner_kind} {self.owner_id}"


class Owner(Protocol):
    """What the engine asks of an owner of plans; one per kind, registered by its app.

    Its model has `status`, `attempt`, `updated_at` (touched whenever a step moves) and
    `advance_due_at` (when its one queued advance is due, runbook/dispatch.py).
    """

    @property
    def kind(self) -> str:
        """The ledger's name for this kind of owner ("deployment", "cluster")."""
        ...

    @property
    def model(self) -> type[models.Model]:
        """The owner's rows."""
        ...

    def rolling(self) -> Q:
        """The rows the worker drives (a plan is running or about to)."""
        ...

    def begin(self, row: Any) -> Any | None:
        """On a locked row: the row to advance (an approved one starts its attempt
        here), or None when the worker does not drive it (not rolling)."""
        ...

    def plan(self, row: Any) -> Plan:
        """The plan of the row's current phase, computed afresh."""
        ...

    def outputs(self, row: Any) -> dict[str, Any]:
        """What the row's earlier steps produced, handed to the next step."""
        ...

    def store_outputs(self, row: Any, outputs: Mapping[str, Any], now: datetime) -> None:
        """Keep what a step produced that the row may hold (the engine touches the row)."""
        ...

    def claim_context(self, row: Any, step: Step) -> dict[str, Any]:
        """Extra StepClaim fields for this step (endpoint, cluster)."""
        ...

    def succeeded(self, row: Any, step: Step, now: datetime) -> None:
        """A step succeeded (a spend clock follows its billing mark)."""
        ...

    def finish(self, row: Any, phase: str) -> None:
        """The plan of `phase` ran to its end: move the row on."""
        ...

    def fail(self, row: Any, step: str, result: Retry | Failed, hint: str) -> None:
        """The step failed (or kept failing transiently): move the row to failed."""
        ...

    def executors(self) -> Mapping[str, "Executor"]:
        """Executors of this owner's own actions, beside the engine's generic ones."""
        ...


# One function per plan action: a claimed step in, what happened out.
Executor = Callable[[StepClaim], StepResult]

_OWNERS: dict[str, Owner] = {}


def register(owner: Owner) -> None:
    """Make an owner's plans runnable (called from its app's ready())."""
    _OWNERS[owner.kind] = owner


def owner_of(kind: str) -> Owner:
    return _OWNERS[kind]


def owners() -> list[Owner]:
    return list(_OWNERS.values())
