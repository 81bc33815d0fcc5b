"""Every write on deployments lives here; views, serializers and tasks call these."""

from deployments.services.decisions import deployment_approve, deployment_reject
from deployments.services.lifecycle import deployment_retry, deployment_tear_down
from deployments.services.requests import deployment_request
from deployments.services.transitions import deployment_transition

__all__ = [
    "deployment_approve",
    "deployment_reject",
    "deployment_request",
    "deployment_retry",
    "deployment_tear_down",
    "deployment_transition",
]
