"""A new service account is not usable at once: for a while IAM answers a grant that names
it (or a grant on it) with 400 "Service account EMAIL does not exist." Google says to wait
and retry (https://cloud.google.com/iam/docs/service-accounts-create: "you might need to
wait for 60 seconds or more before you use the service account"). Grant steps, and the
deploy of a service that runs as the account, wait it out for
ROLLOUT_ACCOUNT_PROPAGATION_SECONDS, outside the step's retries, then fail saying so.

The error carries no ErrorInfo, so it is told apart by naming the very account the step
grants: no other 400 names it.
"""

import time
from collections.abc import Callable
from functools import wraps

from google.api_core import exceptions as gexc

from runbook.owners import StepClaim
from runbook.results import Failed, Retry, StepResult
from runbook.settings import rollout_setting

Executor = Callable[[StepClaim], StepResult]


def _accounts(claim: StepClaim) -> list[str]:
    params = claim.step.params
    body = claim.step.request.body if claim.step.request else None
    template = (body or {}).get("template") or {}
    named = [
        params.get("email", ""),
        str(params.get("member", "")).rsplit(":", 1)[-1],
        str(template.get("serviceAccount", "")),  # a Cloud Run service that runs as it
    ]
    return [email for email in named if email.endswith(".gserviceaccount.com")]


def waits_for_new_accounts(executor: Executor) -> Executor:
    """Wrap a step that names an account: one not yet visible to IAM is waited for, not a
    failure."""

    @wraps(executor)
    def run(claim: StepClaim) -> StepResult:
        try:
            return executor(claim)
        except (gexc.BadRequest, gexc.InvalidArgument) as exc:
            message = exc.message or ""
            unseen = [a for a in _accounts(claim) if a in message and "does not exist" in message]
            if not unseen:
                raise
            budget = float(rollout_setting("ACCOUNT_PROPAGATION_SECONDS"))
            waited = time.time() - claim.started_at.timestamp()
            if waited < budget:
                return Retry(
                    f"{unseen[0]} is not visible to IAM yet (a new account takes a while); "
                    f"waited {waited:.0f} s of {budget:.0f} s.",
                    counted=False,
                )
            return Failed(
                f"IAM still answers that {unseen[0]} does not exist after {waited:.0f} s.",
                "A new service account usually becomes usable within minutes. Check that it "
                "exists (gcloud iam service-accounts describe "
                f"{unseen[0]}), then retry; raise ROLLOUT_ACCOUNT_PROPAGATION_SECONDS if this "
                "project is slow.",
            )

    return run
