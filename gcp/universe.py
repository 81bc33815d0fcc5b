"""Names that depend on Google's universe: where the APIs are and what identities are called.

Google's public cloud is the universe `googleapis.com`; a sovereign one such as seed 003's
S3NS is `s3nsapis.fr`. The client libraries reach each API at `SERVICE.UNIVERSE`
(google-api-core ClientOptions.universe_domain,
https://googleapis.dev/python/google-api-core/latest/client_options.html); a service
account is `NAME@PROJECT.s3ns.iam.gserviceaccount.com` and the workload pool
`PROJECT.s3ns.svc.id.goog` there, with no prefix on Google's own universe
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity). A
domain-scoped project (`example.com:proj`) reads `proj.example.com` in both.
The universe is configuration (GCP["UNIVERSE_DOMAIN"]); these functions only derive.
"""

# The client libraries' own default when none is configured (see the page above).
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


def api_host(service: str, universe: str) -> str:
    """Where an API is when no endpoint is configured: `https://iam.s3nsapis.fr`, as the
    client libraries build it from the universe."""
    _prefix(universe)  # an unknown universe is refused here too
    return f"https://{service}.{universe}"
