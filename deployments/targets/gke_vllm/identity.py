"""The names Workload Identity is made of, derived from the project and the universe.

Seed 003 runs on a sovereign universe (s3nsapis.fr), where a service account is
`NAME@PROJECT.s3ns.iam.gserviceaccount.com` and the workload pool
`PROJECT.s3ns.svc.id.goog`; a domain-scoped project (`example.com:proj`) reads
`proj.example.com` in both. On Google's own universe the prefix is empty
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity). Nothing here
assumes googleapis.com: the universe is configuration (GCP["UNIVERSE_DOMAIN"]).
"""

DEFAULT_UNIVERSE = "googleapis.com"
# The label a universe puts in front of iam.gserviceaccount.com and svc.id.goog.
UNIVERSE_PREFIX = {DEFAULT_UNIVERSE: "", "s3nsapis.fr": "s3ns"}


def _prefix(universe: str) -> str:
    try:
        label = UNIVERSE_PREFIX[universe]
    except KeyError:
        raise ValueError(f"Unknown universe domain {universe!r}") from None
    return f"{label}." if label else ""


def _project_part(project: str) -> str:
    """`example.com:proj` becomes `proj.example.com`, as the seed's e-mail rule has it."""
    if ":" in project:
        domain, name = project.split(":", 1)
        return f"{name}.{domain}"
    return project


def service_account_email(account_id: str, project: str, universe: str) -> str:
    return f"{account_id}@{_project_part(project)}.{_prefix(universe)}iam.gserviceaccount.com"


def workload_pool(project: str, universe: str) -> str:
    return f"{_project_part(project)}.{_prefix(universe)}svc.id.goog"


def workload_identity_member(project: str, universe: str, namespace: str, ksa: str) -> str:
    """Who may act as the Google account: the Kubernetes account, through the pool."""
    return f"serviceAccount:{workload_pool(project, universe)}[{namespace}/{ksa}]"


def team_namespace(team_slug: str) -> str:
    """One namespace per team: its objects, its ResourceQuota, its isolation."""
    return f"hangar-{team_slug}"
