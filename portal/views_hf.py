"""The team's Hugging Face token page: shows whether a token is set; admins save a new one.

The token is a POST field the view hands to one service; it is marked sensitive so
Django's error reports leave it out, and the form never renders it back.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from portal.access import role_at_least, role_in_team
from portal.exceptions import ApplicationError, ValidationFailed
from portal.models import Role, Team
from portal.selectors import hf_token_status
from portal.services_hf_token import hf_token_remove, hf_token_save


class HfTokenForm(forms.Form):
    token = forms.CharField(
        label="Hugging Face access token",
        strip=True,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A read token of an account that accepted the gated models' licences "
        "(huggingface.co/settings/tokens). It goes straight to Secret Manager; Hangar "
        "cannot show it again.",
    )


@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def team_hf_token_view(request: HttpRequest, slug: str) -> HttpResponse:
    team = Team.objects.filter(slug=slug).first()
    role = role_in_team(user=request.user, team=team) if team else None
    if team is None or role is None:
        raise Http404("No such team.")
    is_admin = role_at_least(role, Role.ADMIN)
    if request.method == "POST" and "remove" in request.POST:
        return _remove(request, team)
    form = HfTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hf_token_save(team=team, token=form.cleaned_data["token"], by=request.user)
        except ValidationFailed as exc:
            for text in exc.fields.get("token", [exc.message]):
                form.add_error("token", text)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved a new Hugging Face token for {team.name}.")
            return redirect("team-hf-token", slug=team.slug)
    context = {
        "team": team,
        "status": hf_token_status(team=team),
        "form": form,
        "is_admin": is_admin,
    }
    return render(request, "portal/hf_token.html", context, status=400 if form.errors else 200)


def _remove(request: HttpRequest, team: Team) -> HttpResponse:
    try:
        hf_token_remove(team=team, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("team-hf-token", slug=team.slug)
    messages.success(request, f"Removed the Hugging Face token of {team.name}.")
    return redirect("team-hf-token", slug=team.slug)
