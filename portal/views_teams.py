"""Team pages: members, limits and API tokens. The team page's spend and GPU quotas come
from the apps that hold them (`{% team_spend %}`, `{% team_quotas %}` in its template)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from portal.access import is_platform_admin, role_at_least, role_in_team
from portal.exceptions import ApplicationError
from portal.forms import ApiTokenForm
from portal.models import ApiToken, Role, Team
from portal.paging import page_of
from portal.selectors import team_list_for, team_members, team_tokens
from portal.services import api_token_create, api_token_revoke

# Teams per page of the team list.
TEAMS_PAGE_SIZE = 50


def _team_or_404(request: HttpRequest, slug: str) -> Team:
    team = team_list_for(user=request.user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team among yours.")
    return team


def _hf_token_url(team: Team) -> str:
    try:
        return reverse("team-hf-token", kwargs={"slug": team.slug})
    except NoReverseMatch:
        return ""


@login_required
@require_GET
def team_list_view(request: HttpRequest) -> HttpResponse:
    teams = team_list_for(user=request.user).order_by("name", "pk")
    page = page_of(request, teams, size=TEAMS_PAGE_SIZE)
    return render(request, "portal/team_list.html", {"page": page, "teams": page.object_list})


def _team_context(request: HttpRequest, team: Team, **extra: Any) -> dict[str, Any]:
    role = role_in_team(user=request.user, team=team)
    members = list(team_members(team=team))
    return {
        "team": team,
        "role": role,
        "is_team_admin": role_at_least(role, Role.ADMIN),
        "is_platform_admin": is_platform_admin(request.user),
        "members": members,
        # Whom a member without the role asks for an API token.
        "team_admins": [m.user.get_username() for m in members if m.role == Role.ADMIN],
        "tokens": team_tokens(team=team),
        "token_form": ApiTokenForm(),
        "hf_token_url": _hf_token_url(team),
        **extra,
    }


@login_required
@require_GET
def team_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_or_404(request, slug)
    return render(request, "portal/team_detail.html", _team_context(request, team))


@login_required
@require_POST
def team_token_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_or_404(request, slug)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = api_token_create(
                team=team,
                owner=request.user,
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("team-detail", slug=team.slug)
        # Shown once, in this response only; the database keeps a hash.
        context = _team_context(request, team, new_token=token, new_secret=secret)
        return render(request, "portal/team_detail.html", context)
    return render(
        request,
        "portal/team_detail.html",
        _team_context(request, team, token_form=form),
        status=400,
    )


@login_required
@require_POST
def team_token_revoke_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_or_404(request, slug)
    token = ApiToken.objects.filter(team=team, pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    try:
        api_token_revoke(token=token, by=request.user)
        messages.success(request, f"Revoked {token.name}; it stops working now.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("team-detail", slug=team.slug)
