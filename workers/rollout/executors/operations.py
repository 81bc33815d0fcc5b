"""What executors of long Google operations share: Waiting until done, then the outcome."""

from typing import Any

from deployments.services.rollout import Failed, StepClaim, StepResult, Succeeded, Waiting
from workers.gcp.operations import OperationState


def after_operation(claim: StepClaim, state: OperationState, **outputs: Any) -> StepResult:
    if not state.done:
        return Waiting(claim.operation, outputs=outputs)
    if state.error:
        return Failed(f"Google reported: {state.error}", hint_for(claim))
    return Succeeded(outputs=outputs)


def hint_for(claim: StepClaim) -> str:
    return f"Compare the step's request in the plan with Google's message ({claim.step.cli})."
