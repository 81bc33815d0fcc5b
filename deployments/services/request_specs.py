"""The spec a request stands for, and every reason it cannot run: its own fields and
rules first, then, for the team it is made for, what the target checks there
(`TargetDef.bind_team`: a GKE target's cluster must be open to the team), against what
the team may use (offers.py). The request, the estimate API and the live estimate all
come here."""

from typing import Any

from deployments.services.offers import offer_for_team
from deployments.targets.base import TargetDef
from deployments.targets.fields import FieldErrors, declarations
from portal.models import Team


def spec_for_request(
    *, target: TargetDef, values: dict[str, Any], team: Team | None, requesting: bool = False
) -> tuple[Any, FieldErrors]:
    """`requesting`: for a request, not a price; a field only a request needs is asked for."""
    spec = target.spec_class.from_values(values)
    errors = spec.errors()
    if requesting:
        for name, declaration, _ in declarations(target.spec_class):
            if declaration.request_required and getattr(spec, name) is None:
                errors.setdefault(name, [f"A request needs a {declaration.label.lower()}."])
    # What the team may use is read for values within bounds and rules only.
    if team is not None and target.bind_team is not None and not errors:
        spec, errors = target.bind_team(spec, offer_for_team(team=team))
    return spec, errors
