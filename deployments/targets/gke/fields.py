"""The spec fields every GKE target has, declared once: the cluster, the machine its
ComputeClass provisions and the GPUs each pod takes.

The cluster is an id: the form offers the clusters open to the requesting user's teams,
and the request service checks it against the team it is made for (binding.py).
"""

from typing import Any

from deployments.targets.fields import choice_field, int_field
from deployments.targets.gke.machines import MACHINE_CHOICES_HELP, MAX_NODE_GPUS, machine_choices
from deployments.targets.offer import Offer

# Postgres' integer primary key: anything larger is no cluster Hangar could have.
MAX_ID = 2**31 - 1


def cluster_choices_for(offer: Offer) -> list[tuple[int, str]]:
    """The ready clusters open to any team the user may request in (the form's offer)."""
    return [(c.id, f"{c.name} ({c.project}, {c.location})") for c in offer.ready_clusters]


def cluster() -> Any:
    return int_field(
        None,
        label="Cluster",
        help="a ready GKE cluster open to the team (a platform admin registers or creates "
        "clusters and opens them to teams). An estimate may leave it empty; a request may not.",
        cli="kubectl --context",
        minimum=1,
        maximum=MAX_ID,
        maximum_reason="no cluster has a larger id",
        optional=True,
        request_required=True,
        form_choices=cluster_choices_for,
    )


def gpu_count(default: int = 1) -> Any:
    return int_field(
        default,
        label="GPUs per pod",
        help="H100s the vLLM pod requests (nvidia.com/gpu, --tensor-parallel-size). The node "
        f"must hold them: {MACHINE_CHOICES_HELP}.",
        cli="--tensor-parallel-size",
        minimum=1,
        maximum=MAX_NODE_GPUS,
        maximum_reason=f"the largest H100 machine holds {MAX_NODE_GPUS}",
    )


def machine_type(
    default: str = "a3-edgegpu-8g-nolssd",
    *,
    label: str = "Node machine (ComputeClass)",
    help: str = "the machine the ComputeClass asks Autopilot for. Google bills the whole node, "
    "every GPU on it, whatever the pod uses: pick the smallest that holds the pod's GPUs.",
    cli: str = "ComputeClass spec.priorities[].machineType",
) -> Any:
    return choice_field(
        default,
        label=label,
        help=help,
        cli=cli,
        choices=machine_choices,
        choice_error="Hangar offers no such H100 machine; pick one from the list.",
    )
