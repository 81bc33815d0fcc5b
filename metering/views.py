"""The model server's charts as a fragment, re-read by the deployment page (htmx) while the
deployment is Ready, so they fill as the server works."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from deployments.selectors import deployment_get
from metering.templatetags.measured import server_metrics
from portal.exceptions import NotFound


@login_required
@require_GET
def server_metrics_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        deployment = deployment_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "metering/_server_section.html", server_metrics(deployment))
