"""Deployment targets and states, with the named groups the code asks about."""

from django.db import models


class Target(models.TextChoices):
    CLOUD_RUN_OLLAMA = "cloud-run-ollama", "Cloud Run + Ollama"
    CLOUD_RUN_VLLM = "cloud-run-vllm", "Cloud Run + vLLM"
    GKE_VLLM = "gke-vllm", "GKE Autopilot + vLLM"
    GKE_INFERENCE_GATEWAY = "gke-inference-gateway", "GKE Inference Gateway + vLLM"


# Targets this version of Hangar can plan and roll out.
AVAILABLE_TARGETS = (Target.CLOUD_RUN_OLLAMA, Target.CLOUD_RUN_VLLM)
AVAILABLE_TARGET_VALUES = [t.value for t in AVAILABLE_TARGETS]


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


class EventKind(models.TextChoices):
    TRANSITION = "transition", "State change"
    STEP = "step", "Rollout step"


class Outcome(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting on Google"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"


IN_FLIGHT_OUTCOMES = (Outcome.RUNNING, Outcome.WAITING)
