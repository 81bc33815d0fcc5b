"""The deployment as an owner of plans (runbook/owners.py): what the engine asks of it.

The engine claims, runs and records the steps; this adapter says which rows it drives
(approved, deploying, tearing down), starts an approved deployment's attempt, hands each
step its deployment's outputs, model server and cluster, follows the spend clock on the
billing marks, and moves the deployment on when a plan ends or fails.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q

from clusters.selectors import cluster_connection
from deployments.choices import OWNER_KIND, ROLLING_STATES, Phase, Status
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.services.cluster_lost import HINT as LOST_HINT
from deployments.services.cluster_lost import lost_cluster_of, lost_message
from deployments.services.dependents import base_gone_reason, base_resume, live_dependents
from deployments.services.spend import spend_accrue_deployment
from deployments.services.transitions import deployment_transition
from deployments.targets import TARGETS, spec_for, target_for
from runbook import dispatch, ledger
from runbook.owners import Executor, StepClaim
from runbook.plan import Step
from runbook.results import Failed, Retry, StepResult

KIND = OWNER_KIND


class DeploymentOwner:
    kind = KIND
    model = Deployment

    def rolling(self) -> Q:
        return Q(status__in=[s.value for s in ROLLING_STATES])

    def begin(self, row: Deployment) -> Deployment | None:
        if row.status not in ROLLING_STATES:
            return None
        if row.status == Status.TEARING_DOWN and _waits_for_dependents(row):
            # Its dependents' tear downs go first; the last one queues this one again.
            return None
        if row.status == Status.APPROVED:
            return deployment_transition(
                deployment=row,
                to=Status.DEPLOYING,
                message="Rollout started",
                changes={"attempt": row.attempt + 1},
            )
        return row

    def plan(self, row: Deployment) -> Any:
        return plan_for(row, row.phase)

    def outputs(self, row: Deployment) -> dict[str, Any]:
        return dict(row.outputs)

    def store_outputs(self, row: Deployment, outputs: Mapping[str, Any], now: datetime) -> None:
        row.outputs = {**row.outputs, **outputs}
        row.save(update_fields=["outputs", "updated_at"])

    def claim_context(self, row: Deployment, step: Step) -> dict[str, Any]:
        cluster = step.params.get("cluster")
        return {
            "endpoint": target_for(row).endpoint(spec_for(row)),
            "cluster": cluster_connection(cluster_id=int(cluster)) if cluster else None,
        }

    def succeeded(self, row: Deployment, step: Step, now: datetime) -> None:
        """Start the spend clock when the billed resource exists; stop it when it is gone."""
        if step.billing == "starts" and row.cost_accrued_until is None:
            row.cost_accrued_until = now
            row.save(update_fields=["cost_accrued_until", "updated_at"])
        elif step.billing == "ends" and row.cost_accrued_until is not None:
            spend_accrue_deployment(deployment=row, until=now)
            row.cost_accrued_until = None
            row.save(update_fields=["cost_accrued_until", "updated_at"])

    def finish(self, row: Deployment, phase: str) -> None:
        if phase == Phase.DEPLOY:
            gone = base_gone_reason(row)
            if gone:  # never ready on a base that is not: it would answer for nothing
                deployment_transition(
                    deployment=row,
                    to=Status.FAILED,
                    message=f"Not ready: {gone}",
                    changes={
                        "failure_step": "base",
                        "failure_message": gone,
                        "failure_hint": "Request it again on a ready base deployment.",
                    },
                )
                base_resume(row)
                return
            address = row.outputs.get(target_for(row).endpoint(spec_for(row)).address_output, "")
            deployment_transition(
                deployment=row,
                to=Status.READY,
                message="Rollout finished; the endpoint answered.",
                changes={"endpoint_url": address},
            )
        else:
            deployment_transition(
                deployment=row,
                to=Status.TORN_DOWN,
                message="Everything Hangar created for this deployment is gone.",
                changes={"endpoint_url": ""},
            )
            base_resume(row)

    def fail(self, row: Deployment, step: str, result: Retry | Failed, hint: str) -> None:
        if row.status in (Status.DEPLOYING, Status.TEARING_DOWN):
            error = result.error
            lost = lost_cluster_of(row)
            if lost is not None:  # not Google failing: the cluster is gone
                error = f"{lost_message(lost, lost.failure_message)} ({error})"
                hint = LOST_HINT
            deployment_transition(
                deployment=row,
                to=Status.FAILED,
                message=f"{step} failed",
                changes={"failure_step": step, "failure_message": error, "failure_hint": hint},
            )
            base_resume(row)

    def executors(self) -> Mapping[str, Executor]:
        """Every target's own executors (an action only its plans use)."""
        return {action: run for t in TARGETS.values() for action, run in t.executors().items()}


def _waits_for_dependents(row: Deployment) -> bool:
    """A base's tear down waits while a deployment that runs on it is still live, unless
    that one failed (it keeps its own record and retry; the base goes on)."""
    return any(d.status != Status.FAILED for d in live_dependents(row))


def rollout_schedule(*, deployment_id: int, countdown: float = 0) -> None:
    """Queue the deployment's next advance (at most one is ever queued)."""
    dispatch.schedule(KIND, deployment_id, countdown=countdown)


def rollout_claim(*, deployment_id: int, due: str | None = None) -> StepClaim | None:
    """Take the next step of the deployment's rollout, or finish it (runbook/ledger.py)."""
    return ledger.claim(KIND, deployment_id, due=due)


def rollout_record(*, claim: StepClaim, result: StepResult) -> None:
    """Store what a step did and queue what comes next (runbook/ledger.py)."""
    ledger.record(claim=claim, result=result)
