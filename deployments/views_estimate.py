"""The live estimate beside the request form: price, targets side by side, the decision."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from deployments.forms import DEFAULT_BUSY_HOURS, request_form_class
from deployments.services.assessment import deployment_assess
from deployments.services.comparison import target_comparison
from deployments.services.estimates import estimate_for
from deployments.services.request_specs import spec_for_request

# Fields a price does not depend on; they may still be empty while the form is filled in.
NOT_PRICED = {"slug", "team", "justification", "expires_in_hours"}


@login_required
@require_POST
def deployment_estimate_view(request: HttpRequest) -> HttpResponse:
    """Re-priced on every change of the form (htmx); says what is missing rather than failing."""
    target = request.POST.get("target", "")
    form = request_form_class(target)(request.POST, user=request.user)
    form.is_valid()
    # The name and the team may still be empty; every other field must parse.
    if set(form.errors) - NOT_PRICED:
        refused = _refused(form, {k: v for k, v in form.errors.items() if k not in NOT_PRICED})
        return render(request, "deployments/_estimate.html", {"invalid": True, "refused": refused})
    target = form.target_def.name
    # The form's team field offers only the user's deployer teams; a bad value is left out.
    team = form.cleaned_data.get("team")
    spec, errors = spec_for_request(target=form.target_def, values=form.service_values(), team=team)
    if errors:
        fixes = [
            (name, form.fields[name].label or name, value)
            for name, value in spec.fixes().items()
            if name in errors and name in form.fields
        ]
        return render(
            request,
            "deployments/_estimate.html",
            {"errors": True, "refused": _refused(form, errors), "fixes": fixes},
        )
    busy = form.cleaned_data.get("busy_hours_per_day") or DEFAULT_BUSY_HOURS
    context: dict[str, Any] = {
        "estimate": estimate_for(target=target, spec=spec, busy_hours_per_day=busy),
        "comparison": target_comparison(
            model=spec.model, busy_hours_per_day=busy, chosen=target, spec=spec
        ),
        "target": target,
    }
    if team is not None:
        context["assessment"] = deployment_assess(
            team=team, target=target, spec=spec, busy_hours_per_day=busy
        )
    return render(request, "deployments/_estimate.html", context)


def _refused(form: Any, errors: Any) -> list[tuple[str, list[str]]]:
    """Why a value was refused, by field label, so the panel names the limit too. A field
    that is merely empty is left to the form to point out."""
    rows = []
    for name, messages in errors.items():
        shown = [str(m) for m in messages if str(m) != "This field is required."]
        if shown:
            field = form.fields.get(name)
            rows.append((str(field.label) if field and field.label else name, shown))
    return rows
