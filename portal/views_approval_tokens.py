"""Approval tokens: a platform admin's credential for automation that approves or rejects
GPU spend over the API, and nothing else."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import is_platform_admin
from portal.exceptions import ApplicationError
from portal.forms import ApiTokenForm
from portal.models import ApiToken, TokenScope
from portal.services import api_token_revoke, approval_token_create


def _require_admin(request: HttpRequest) -> None:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins manage approval tokens.")


def _page(
    request: HttpRequest, form: ApiTokenForm, status: int = 200, **extra: object
) -> HttpResponse:
    tokens = ApiToken.objects.filter(scope=TokenScope.APPROVE).select_related("owner")
    context = {"tokens": tokens.order_by("-created_at"), "form": form, **extra}
    return render(request, "portal/approval_tokens.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def approval_tokens_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    if request.method == "GET":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        token, secret = approval_token_create(
            owner=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _page(request, form, status=400)
    # Shown once, in this response only; the database keeps a hash.
    return _page(request, ApiTokenForm(), new_token=token, new_secret=secret)


@login_required
@require_POST
def approval_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    token = ApiToken.objects.filter(scope=TokenScope.APPROVE, pk=pk).first()
    if token is None:
        raise Http404("No such approval token.")
    try:
        api_token_revoke(token=token, by=request.user)
        messages.success(request, f"Revoked {token.name}; it stops working now.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("approval-tokens")
