import time

from deployments.choices import Status
from deployments.models import Deployment
from runbook.ledger import runs_of


def wait_for_status(deployment: Deployment, *statuses: Status, timeout: float = 60) -> Deployment:
    """Poll the database until the worker moves the deployment into one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if deployment.status in statuses:
            return deployment
        time.sleep(0.2)
    steps = list(runs_of("deployment", deployment.pk).values_list("step", "outcome", "error"))
    raise AssertionError(f"{deployment.slug} is still {deployment.status}; steps: {steps}")


def wait_until(predicate, timeout: float = 30, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def scale_deadlines(monkeypatch, scale: float) -> None:
    """Workers started after this keep every step deadline `scale` times the declared one
    (ROLLOUT_DEADLINE_SCALE), so a wait that never ends ends within a test."""
    monkeypatch.setenv("ROLLOUT_DEADLINE_SCALE", str(scale))
