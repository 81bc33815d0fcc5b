"""Cluster states and the phases of the work Hangar does on a cluster."""

from django.db import models

# The regions the cluster form offers, first the default: where Hangar offers GPUs
# (deployments/catalog.py's Cloud Run regions; this layer cannot read the catalog).
CLUSTER_REGIONS = ("us-central1", "europe-west1", "europe-west4", "us-east4", "asia-southeast1")


class ClusterStatus(models.TextChoices):
    REGISTERING = "registering", "Registering (reading its endpoint)"
    CREATING = "creating", "Creating"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"
    # Hangar had it ready and GKE no longer has it (deleted outside Hangar): nothing runs
    # on it any more, and retrying a step on it cannot help (clusters/health.py).
    LOST = "lost", "Lost (GKE no longer has it)"


# The worker drives a cluster in these states.
CLUSTER_ROLLING_STATES = frozenset(
    {ClusterStatus.REGISTERING, ClusterStatus.CREATING, ClusterStatus.DELETING}
)
# Gone: its name may be registered or created again.
CLUSTER_TERMINAL_STATES = frozenset({ClusterStatus.DELETED})

# The only legal moves; cluster_transition() refuses anything else. A failed cluster can
# be tried again (its plan resumes) or, if Hangar created it, deleted.
CLUSTER_TRANSITIONS: dict[ClusterStatus, frozenset[ClusterStatus]] = {
    ClusterStatus.REGISTERING: frozenset({ClusterStatus.READY, ClusterStatus.FAILED}),
    ClusterStatus.CREATING: frozenset({ClusterStatus.READY, ClusterStatus.FAILED}),
    ClusterStatus.READY: frozenset(
        {ClusterStatus.DELETING, ClusterStatus.DELETED, ClusterStatus.LOST}
    ),
    ClusterStatus.FAILED: frozenset(
        {
            ClusterStatus.REGISTERING,
            ClusterStatus.CREATING,
            ClusterStatus.DELETING,
            ClusterStatus.DELETED,
        }
    ),
    ClusterStatus.DELETING: frozenset({ClusterStatus.DELETED, ClusterStatus.FAILED}),
    ClusterStatus.DELETED: frozenset(),
    # A lost cluster can be registered again (it came back) or forgotten.
    ClusterStatus.LOST: frozenset(
        {ClusterStatus.REGISTERING, ClusterStatus.DELETING, ClusterStatus.DELETED}
    ),
}


class ClusterPhase(models.TextChoices):
    REGISTER = "register", "Register"
    CREATE = "create", "Create"
    DELETE = "delete", "Delete"


PHASE_OF_STATUS = {
    ClusterStatus.REGISTERING: ClusterPhase.REGISTER,
    ClusterStatus.CREATING: ClusterPhase.CREATE,
    ClusterStatus.DELETING: ClusterPhase.DELETE,
}


class ReleaseChannel(models.TextChoices):
    """GKE release channels (container_v1 ReleaseChannel.Channel), as create-auto takes them."""

    RAPID = "RAPID", "Rapid"
    REGULAR = "REGULAR", "Regular"
    STABLE = "STABLE", "Stable"
    EXTENDED = "EXTENDED", "Extended"


# What the engine's ledger calls a cluster's plans' owner (runbook/owners.py).
OWNER_KIND = "cluster"
