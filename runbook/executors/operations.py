"""What executors of long Google operations share: Waiting until done, then the outcome.

A wait is bounded by the deadline the step's plan declares (runbook/ledger.py); the
Waiting message is the operation's last known state, which the deadline's failure names.
"""

import re
from typing import Any

from gcp.errors import QUOTA_REASONS, gke_quota_hint, quota_hint
from gcp.operations import OperationState
from gcp.settings import gcp_setting
from runbook.owners import StepClaim
from runbook.results import Failed, StepResult, Succeeded, Waiting

_LOCATION = re.compile(r"/locations/([^/]+)")


def after_operation(claim: StepClaim, state: OperationState, **outputs: Any) -> StepResult:
    if not state.done:
        said = f"Google reports the operation {state.status}." if state.status else ""
        return Waiting(claim.operation, said, outputs=outputs)
    if state.error:
        return Failed(f"Google reported: {state.error}", operation_hint(claim, state))
    return Succeeded(outputs=outputs)


def operation_hint(claim: StepClaim, state: OperationState) -> str:
    """What to do about a failed operation: a quota names itself (a Cloud Run GPU quota
    arrives as ErrorInfo; GKE's as RESOURCE_EXHAUSTED naming a Compute Engine quota)."""
    project = gcp_setting("PROJECT")
    if state.detail.reason in QUOTA_REASONS:
        return quota_hint(state.detail.metadata, project)
    if state.code == "RESOURCE_EXHAUSTED" and claim.step.action.startswith("container."):
        return gke_quota_hint(state.error, location_of(claim), project)
    return hint_for(claim)


def location_of(claim: StepClaim) -> str:
    """The region or zone the step's resource is in, from its resource name."""
    params = claim.step.params
    for key in ("parent", "name"):
        found = _LOCATION.search(str(params.get(key, "")))
        if found:
            return found.group(1)
    return ""


def hint_for(claim: StepClaim) -> str:
    return f"Compare the step's request in the plan with Google's message ({claim.step.cli})."
