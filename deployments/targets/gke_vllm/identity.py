"""The names Workload Identity is made of, derived from the project and the universe.

Seed 003 runs on a sovereign universe (s3nsapis.fr), where a service account is
`NAME@PROJECT.s3ns.iam.gserviceaccount.com` and the workload pool
`PROJECT.s3ns.svc.id.goog`; a domain-scoped project (`example.com:proj`) reads
`proj.example.com` in both. On Google's own universe the prefix is empty
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity). The
derivations every plan shares are gcp/universe.py; the universe comes with
the plan context (GCP["UNIVERSE_DOMAIN"]).
"""

from gcp.universe import (
    DEFAULT_UNIVERSE,
    UNIVERSE_PREFIX,
    service_account_email,
    workload_pool,
)

__all__ = [
    "DEFAULT_UNIVERSE",
    "UNIVERSE_PREFIX",
    "service_account_email",
    "team_namespace",
    "workload_identity_member",
    "workload_pool",
]


def workload_identity_member(project: str, universe: str, namespace: str, ksa: str) -> str:
    """Who may act as the Google account: the Kubernetes account, through the pool."""
    return f"serviceAccount:{workload_pool(project, universe)}[{namespace}/{ksa}]"


def team_namespace(team_slug: str) -> str:
    """One namespace per team: its objects, its ResourceQuota, its isolation."""
    return f"hangar-{team_slug}"
