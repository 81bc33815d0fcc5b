"""What executors of long Google operations share: Waiting until done, then the outcome."""

from typing import Any

from gcp.errors import QUOTA_REASONS, quota_hint
from gcp.operations import OperationState
from gcp.settings import gcp_setting
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting


def after_operation(claim: StepClaim, state: OperationState, **outputs: Any) -> StepResult:
    if not state.done:
        return Waiting(claim.operation, outputs=outputs)
    if state.error:
        if state.detail.reason in QUOTA_REASONS:
            # A GPU quota Cloud Run checks while it deploys arrives here, not as a 429.
            hint = quota_hint(state.detail.metadata, gcp_setting("PROJECT"))
            return Failed(f"Google reported: {state.error}", hint)
        return Failed(f"Google reported: {state.error}", hint_for(claim))
    return Succeeded(outputs=outputs)


def hint_for(claim: StepClaim) -> str:
    return f"Compare the step's request in the plan with Google's message ({claim.step.cli})."
