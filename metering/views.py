"""The platform admins' spend page (every team against its budget), and the model
server's charts as a fragment, re-read by the deployment page (htmx) while the deployment
is Ready, so they fill as the server works."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from deployments.selectors import deployment_get
from metering.budget import closest_to_budget_first, spend_per_day, teams_against_budget
from metering.templatetags.measured import server_metrics, spend_split_chart
from portal.access import is_platform_admin
from portal.exceptions import NotFound
from portal.models import Team
from portal.paging import page_of

# Teams per page of the spend page, closest to their budget first.
SPEND_PAGE_SIZE = 50


@login_required
@require_GET
def server_metrics_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        deployment = deployment_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "metering/_server_section.html", server_metrics(deployment))


@login_required
@require_GET
def spend_view(request: HttpRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins see this page.")
    rows = closest_to_budget_first(teams_against_budget(teams=Team.objects.all()))
    context = {
        "page": page_of(request, rows, size=SPEND_PAGE_SIZE),
        "spend_chart": spend_split_chart(spend_per_day(), "Spend per day, every team"),
    }
    return render(request, "metering/spend.html", context)
