"""A claimed step as the engine hands it to an executor, for tests that run executors
directly: the cluster comes from the step's `cluster` param, as the deployment owner
resolves it (deployments/services/rollout.py)."""

from datetime import UTC, datetime
from typing import Any

from clusters.selectors import cluster_connection
from gcp.model_server import Credential, Endpoint, Protocol
from runbook.owners import StepClaim
from runbook.plan import Step

ANY_ENDPOINT = Endpoint("x", Protocol.OPENAI, Credential.CLOUD_RUN_ID_TOKEN, ("m",))


def step_claim(
    step: Step,
    operation: str = "",
    *,
    owner_id: int = 1,
    started_at: datetime | None = None,
    outputs: dict[str, Any] | None = None,
    endpoint: Endpoint = ANY_ENDPOINT,
    retries: int = 0,
) -> StepClaim:
    cluster = step.params.get("cluster")
    return StepClaim(
        owner_kind="deployment",
        owner_id=owner_id,
        run_id=1,
        lease_owner="t",
        step=step,
        operation=operation,
        retries=retries,
        started_at=started_at or datetime.now(UTC),
        outputs=outputs or {},
        endpoint=endpoint,
        cluster=cluster_connection(cluster_id=int(cluster)) if cluster else None,
    )
