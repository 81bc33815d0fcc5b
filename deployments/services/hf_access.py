"""Whether a team may request a model that needs its Hugging Face token."""

from typing import Any

from portal.models import Team, TeamHfSecret


def hf_token_errors(*, team: Team, spec: Any) -> dict[str, list[str]]:
    """A gated model needs the team's token in Secret Manager before it can be requested."""
    if not getattr(spec, "needs_hf_token", False):
        return {}
    if TeamHfSecret.objects.filter(team=team).exists():
        return {}
    return {
        "model": [
            f"{spec.hf_model.hf_id} is gated on Hugging Face, and team {team.name} has no "
            "Hugging Face token yet. A team admin saves one on the team's Hugging Face token "
            f"page (/teams/{team.slug}/hugging-face/), or pick an ungated model."
        ]
    }
