"""Names of the Secret Manager secrets Hangar keeps for teams (pure: plans use them too)."""

HF_SECRET_PREFIX = "hangar-hf-"  # noqa: S105 - a name prefix


def hf_secret_id(team_slug: str) -> str:
    """One secret per team holds its Hugging Face token; each save adds a version."""
    return f"{HF_SECRET_PREFIX}{team_slug}"


def hf_secret_name(project: str, team_slug: str) -> str:
    return f"projects/{project}/secrets/{hf_secret_id(team_slug)}"
