"""The shape every executor has: a claimed step in, what happened out."""

from collections.abc import Callable

from runbook.owners import StepClaim
from runbook.results import StepResult

Executor = Callable[[StepClaim], StepResult]
