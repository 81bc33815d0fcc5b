"""The live estimate beside the request form: price, targets side by side, the decision."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from deployments.services.comparison import target_comparison
from deployments.services.estimates import estimate_for
from deployments.services.lifecycle import deployment_assess
from deployments.specs import spec_class_for
from portal.access import teams_where_role
from portal.models import Role


def _int_values(post: Any, names: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        raw = post.get(name, "")
        try:
            values[name] = int(raw)
        except (TypeError, ValueError):
            values[name] = raw
    return values


@login_required
@require_POST
def deployment_estimate_view(request: HttpRequest) -> HttpResponse:
    """Re-priced on every change of the form (htmx); says what is missing rather than failing."""
    target = request.POST.get("target", "")
    try:
        spec_class = spec_class_for(target)
        spec = spec_class.from_values(_int_values(request.POST, spec_class.field_names()))
        busy = Decimal(request.POST.get("busy_hours_per_day") or "8")
        errors = spec.errors()
    except (ValueError, TypeError, InvalidOperation):
        return render(request, "deployments/_estimate.html", {"invalid": True})
    if errors:
        return render(request, "deployments/_estimate.html", {"errors": errors})
    context: dict[str, Any] = {
        "estimate": estimate_for(target=target, spec=spec, busy_hours_per_day=busy),
        "comparison": target_comparison(model=spec.model, busy_hours_per_day=busy),
        "target": target,
    }
    team = (
        teams_where_role(user=request.user, role=Role.DEPLOYER)
        .filter(pk=request.POST.get("team") or 0)
        .first()
    )
    if team is not None:
        context["assessment"] = deployment_assess(
            team=team, target=target, spec=spec, busy_hours_per_day=busy
        )
    return render(request, "deployments/_estimate.html", context)
