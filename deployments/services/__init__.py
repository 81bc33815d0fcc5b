"""Every write on deployments lives here; views, serializers and tasks call these."""

from deployments.services.lifecycle import (
    deployment_approve,
    deployment_reject,
    deployment_request,
    deployment_retry,
    deployment_tear_down,
    deployment_transition,
)

__all__ = [
    "deployment_approve",
    "deployment_reject",
    "deployment_request",
    "deployment_retry",
    "deployment_tear_down",
    "deployment_transition",
]
