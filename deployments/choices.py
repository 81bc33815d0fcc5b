"""Deployment states, phases and outcomes, with the named groups the code asks about.

The targets are listed by their registry, deployments/targets/."""

from django.db import models


class Status(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved, queued"
    DEPLOYING = "deploying", "Deploying"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    TEARING_DOWN = "tearing_down", "Tearing down"
    TORN_DOWN = "torn_down", "Torn down"


# The worker drives a deployment in these states.
ROLLING_STATES = frozenset({Status.APPROVED, Status.DEPLOYING, Status.TEARING_DOWN})
# Nothing exists in Google Cloud and nothing more will happen.
TERMINAL_STATES = frozenset({Status.REJECTED, Status.TORN_DOWN})
# Holds (or may hold) cloud resources, or is about to.
ACTIVE_STATES = frozenset(set(Status) - TERMINAL_STATES - {Status.PENDING_APPROVAL})

# The only legal moves; deployment_transition() refuses anything else.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING_APPROVAL: frozenset({Status.APPROVED, Status.REJECTED, Status.TORN_DOWN}),
    Status.APPROVED: frozenset({Status.DEPLOYING, Status.TEARING_DOWN}),
    Status.DEPLOYING: frozenset({Status.READY, Status.FAILED, Status.TEARING_DOWN}),
    Status.READY: frozenset({Status.TEARING_DOWN}),
    Status.FAILED: frozenset({Status.DEPLOYING, Status.TEARING_DOWN}),
    Status.TEARING_DOWN: frozenset({Status.TORN_DOWN, Status.FAILED}),
    Status.REJECTED: frozenset(),
    Status.TORN_DOWN: frozenset(),
}


class Phase(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    TEARDOWN = "teardown", "Tear down"


# What the engine's ledger calls a deployment's plans' owner (runbook/owners.py).
OWNER_KIND = "deployment"
