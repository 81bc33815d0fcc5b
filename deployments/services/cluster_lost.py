"""What a deployment hears when the cluster it runs on is lost (clusters/health.py).

GKE no longer has the cluster, so whatever Hangar ran there is gone with it, and a step
that tries to reach its API server can only fail, however often it is retried. A
deployment rolling out or tearing down on it fails its step now, naming the lost cluster
(its requester is notified of the failure, as of any); any other live one gets the news
on its timeline and its requester a notification.
"""

from django.db import transaction
from django.urls import reverse

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from deployments.choices import OWNER_KIND, TERMINAL_STATES, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.selectors import SPEC_CLUSTER_KEY
from deployments.services.dependents import base_resume
from deployments.services.transitions import deployment_transition
from portal.notifications import notify
from runbook.ledger import runs_of
from runbook.models import Outcome

# A deployment whose worker talks to the cluster now.
FAILS_NOW = (Status.DEPLOYING, Status.TEARING_DOWN)
HINT = (
    "The cluster this deployment runs on is gone from GKE, and with it what Hangar ran "
    "there; retrying the step cannot bring it back. Once a platform admin has the cluster "
    "again (created or registered anew), request the deployment again, or tear this one "
    "down to remove what it holds outside the cluster."
)


def lost_message(cluster: Cluster, reason: str) -> str:
    return f"Cluster {cluster.name} ({cluster.project}/{cluster.location}) is lost: {reason}"


def deployments_cluster_lost(cluster: Cluster, reason: str) -> int:
    """Tell each live deployment on `cluster` that it is lost; how many were told."""
    message = lost_message(cluster, reason)
    live = Deployment.objects.filter(**{f"spec__{SPEC_CLUSTER_KEY}": cluster.pk}).exclude(
        status__in=[s.value for s in TERMINAL_STATES]
    )
    told = 0
    for deployment in live.select_related("requested_by", "team"):
        with transaction.atomic():
            if deployment.status in FAILS_NOW:
                step = _step_in_flight(deployment)
                deployment_transition(
                    deployment=deployment,
                    to=Status.FAILED,
                    message=f"{step} failed: cluster {cluster.name} lost",
                    changes={
                        "failure_step": step,
                        "failure_message": message,
                        "failure_hint": HINT,
                    },
                )
                base_resume(deployment)
            else:
                DeploymentEvent.objects.create(deployment=deployment, message=message)
                notify(
                    user=deployment.requested_by,
                    subject=f"{deployment.slug}: cluster {cluster.name} lost",
                    message=message,
                    link=reverse("deployments:detail", args=[deployment.pk]),
                    team=deployment.team,
                )
        told += 1
    return told


def lost_cluster_of(deployment: Deployment) -> Cluster | None:
    """The lost cluster the deployment runs on, if it is lost: a step that fails on it
    (a tear down asked later) says so instead of blaming Google."""
    cluster_id = deployment.spec.get(SPEC_CLUSTER_KEY)
    if not cluster_id:
        return None
    return Cluster.objects.filter(pk=cluster_id, status=ClusterStatus.LOST).first()


def _step_in_flight(deployment: Deployment) -> str:
    """The step the worker is on (the last one not done), else the cluster itself."""
    run = (
        runs_of(OWNER_KIND, deployment.pk)
        .exclude(outcome=Outcome.SUCCEEDED)
        .order_by("-created_at", "-pk")
        .first()
    )
    return run.step if run is not None else "cluster"
