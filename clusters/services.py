"""Every write to a cluster: register one, create one, retry, open it to teams, remove it.

Each records who and why (the cluster's timeline and the audit trail) and queues the
cluster worker on commit; no Google call happens in the request.
"""

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clusters.choices import (
    CLUSTER_TERMINAL_STATES,
    OWNER_KIND,
    ClusterPhase,
    ClusterStatus,
    ReleaseChannel,
)
from clusters.models import Cluster, ClusterEvent
from clusters.rollout import cluster_schedule
from clusters.selectors import cluster_users
from clusters.transitions import cluster_transition
from portal.audit import audit_record
from portal.exceptions import InvalidTransition, ValidationFailed
from portal.models import Team
from runbook.ledger import runs_of

# Autopilot clusters are regional (create-auto takes --location=REGION only).
_ZONE_RE = re.compile(r".*[0-9]-[a-z]$")


def cluster_name_errors(
    *, project: str, location: str, name: str, creating: bool, autopilot: bool = True
) -> dict[str, list[str]]:
    """What is wrong with a cluster to register or create, by field; empty when nothing."""
    probe = Cluster(project=project, location=location, name=name, status=ClusterStatus.READY)
    checked = ("project", "location", "name")
    try:
        probe.clean_fields(exclude=[f.name for f in Cluster._meta.fields if f.name not in checked])
    except ValidationError as exc:
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    home = settings.GCP["PROJECT"]
    if project != home:
        # What runs on a cluster uses the weights bucket, the Google account and the
        # Workload Identity bindings of Hangar's project (deployments/targets/gke/binding.py).
        return {
            "project": [
                f"Hangar deploys into {home} only (its weights bucket, Google account and "
                f"Workload Identity are there): register or create a cluster of {home}, "
                f"not of {project}."
            ]
        }
    if creating and autopilot and _ZONE_RE.fullmatch(location):
        return {"location": ["Autopilot clusters are regional: a region, e.g. us-central1."]}
    live = Cluster.objects.filter(project=project, location=location, name=name).exclude(
        status__in=[s.value for s in CLUSTER_TERMINAL_STATES]
    )
    if live.exists():
        return {"name": [f"Hangar already knows {name} in {project}/{location}."]}
    return {}


def _validated(
    project: str, location: str, name: str, *, creating: bool, autopilot: bool = True
) -> None:
    errors = cluster_name_errors(
        project=project, location=location, name=name, creating=creating, autopilot=autopilot
    )
    if errors:
        raise ValidationFailed("The cluster cannot be taken in as given.", fields=errors)


def _start(*, by: Any, reason: str, teams: Iterable[Team], action: str, **fields: Any) -> Cluster:
    try:
        with transaction.atomic():
            cluster = Cluster.objects.create(attempt=1, created_by=by, **fields)
            cluster.teams.set(list(teams))
            ClusterEvent.objects.create(
                cluster=cluster,
                to_status=cluster.status,
                actor=by,
                message=reason,
            )
            audit_record(
                action=action,
                obj=cluster,
                actor=by,
                reason=reason,
                after={
                    "status": cluster.status,
                    "teams": sorted(t.slug for t in cluster.teams.all()),
                    **{k: v for k, v in fields.items() if k != "status"},
                },
            )
            cluster_schedule(cluster_id=cluster.pk)
    except IntegrityError as exc:  # the same name registered at the same instant
        raise ValidationFailed(
            "Hangar already knows this cluster.", fields={"name": ["Already registered."]}
        ) from exc
    return cluster


def cluster_register(
    *, project: str, location: str, name: str, teams: Iterable[Team], by: Any, reason: str = ""
) -> Cluster:
    """Take in a cluster that exists; the worker reads its endpoint and CA (get_cluster)."""
    _validated(project, location, name, creating=False)
    return _start(
        by=by,
        reason=reason or "Registered an existing cluster",
        teams=teams,
        action="cluster.register",
        project=project,
        location=location,
        name=name,
        status=ClusterStatus.REGISTERING,
        owned_by_hangar=False,
    )


def cluster_create(
    *,
    project: str,
    location: str,
    name: str,
    release_channel: str,
    teams: Iterable[Team],
    by: Any,
    reason: str = "",
    autopilot: bool = True,
) -> Cluster:
    """Ask Hangar for a new cluster, which Hangar then owns: Autopilot (create-auto
    semantics) or Standard as seed 004 makes it (clusters/plans.py standard_create_body)."""
    _validated(project, location, name, creating=True, autopilot=autopilot)
    if release_channel not in ReleaseChannel.values:
        raise ValidationFailed(
            "Unknown release channel.",
            fields={"release_channel": [f"One of {', '.join(ReleaseChannel.values)}."]},
        )
    mode = "an Autopilot" if autopilot else "a Standard"
    return _start(
        by=by,
        reason=reason or f"Asked Hangar to create {mode} cluster",
        teams=teams,
        action="cluster.create",
        project=project,
        location=location,
        name=name,
        status=ClusterStatus.CREATING,
        owned_by_hangar=True,
        autopilot=autopilot,
        release_channel=release_channel,
    )


def _refuse_if_used(cluster: Cluster) -> None:
    users = cluster_users(cluster=cluster)[:5]
    if users:
        raise InvalidTransition(
            f"Cluster {cluster.name} is in use by {', '.join(users)}; tear those down first.",
            extra={"deployments": users},
        )


def cluster_remove(*, cluster: Cluster, by: Any, reason: str) -> Cluster:
    """Delete a cluster Hangar created, through its delete plan; forget a registered one
    (Hangar never deletes what it did not create). Refused while anything uses it."""
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        _refuse_if_used(locked)
        if not locked.owned_by_hangar:
            return cluster_transition(
                cluster=locked,
                to=ClusterStatus.DELETED,
                actor=by,
                message=reason or "Unregistered; the cluster itself is left as it is",
            )
        removed = cluster_transition(
            cluster=locked,
            to=ClusterStatus.DELETING,
            actor=by,
            message=reason or "Removal asked",
            changes={"attempt": locked.attempt + 1, "failure_step": "", "failure_message": ""},
        )
        cluster_schedule(cluster_id=removed.pk)
    return removed


def _failed_phase(cluster: Cluster) -> ClusterPhase:
    last = runs_of(OWNER_KIND, cluster.pk).order_by("-created_at", "-pk").first()
    if last is not None:
        return ClusterPhase(last.phase)
    return ClusterPhase.CREATE if cluster.owned_by_hangar else ClusterPhase.REGISTER


_STATUS_OF_PHASE = {
    ClusterPhase.REGISTER: ClusterStatus.REGISTERING,
    ClusterPhase.CREATE: ClusterStatus.CREATING,
    ClusterPhase.DELETE: ClusterStatus.DELETING,
}


def cluster_retry(*, cluster: Cluster, by: Any, reason: str = "") -> Cluster:
    """Run the plan that failed again; its steps are idempotent, so it resumes."""
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        to = _STATUS_OF_PHASE[_failed_phase(locked)]
        retried = cluster_transition(
            cluster=locked,
            to=to,
            actor=by,
            message=reason or "Retried",
            changes={"attempt": locked.attempt + 1, "failure_step": "", "failure_message": ""},
        )
        cluster_schedule(cluster_id=retried.pk)
    return retried


def cluster_teams_set(
    *, cluster: Cluster, teams: Iterable[Team], by: Any, reason: str = ""
) -> None:
    """Which teams may choose the cluster; deployments already on it stay."""
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        before = sorted(t.slug for t in locked.teams.all())
        locked.teams.set(list(teams))
        after = sorted(t.slug for t in locked.teams.all())
        if before != after:
            audit_record(
                action="cluster.teams",
                obj=locked,
                actor=by,
                reason=reason,
                before={"teams": before},
                after={"teams": after},
            )
