"""Pages for platform admins: the audit trail (with CSV export); notifications for all."""

import csv
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from portal.access import is_platform_admin
from portal.models import AuditEvent, Team
from portal.notifications import notifications_mark_read, notifications_recent
from portal.paging import page_of
from portal.selectors import audit_events

# Audit events per page of the trail, newest first.
AUDIT_PAGE_SIZE = 100
CSV_COLUMNS = ["when", "action", "actor", "token", "team", "object", "reason", "before", "after"]


def _require_admin(request: HttpRequest) -> None:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins see this page.")


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filter_text(request: HttpRequest, name: str) -> str:
    # Postgres refuses NUL in any query; no action, slug or username holds one.
    return request.GET.get(name, "").replace("\x00", "").strip()[:200]


@login_required
@require_GET
def audit_view(request: HttpRequest) -> HttpResponseBase:
    _require_admin(request)
    filters: dict[str, Any] = {
        "action": _filter_text(request, "action"),
        "team": _filter_text(request, "team"),
        "actor": _filter_text(request, "actor"),
        "since": _parse_date(request.GET.get("since", "")),
        "until": _parse_date(request.GET.get("until", "")),
    }
    events = audit_events(**filters)
    if request.GET.get("format") == "csv":
        return _csv_response(events)
    page = page_of(request, events, size=AUDIT_PAGE_SIZE)
    return render(
        request,
        "portal/audit.html",
        {"page": page, "filters": filters, "teams": Team.objects.all()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for e in events.iterator():
            yield writer.writerow(
                [
                    e.created_at.isoformat(),
                    e.action,
                    e.actor.get_username() if e.actor else "",
                    e.actor_token.name if e.actor_token else "",
                    e.team.slug if e.team else "",
                    e.object_repr,
                    e.reason,
                    json.dumps(e.before) if e.before is not None else "",
                    json.dumps(e.after) if e.after is not None else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="hangar-audit.csv"'
    return response


@login_required
@require_GET
def notifications_view(request: HttpRequest) -> HttpResponse:
    """The user's notifications; opening the page is seeing them, so they are marked read."""
    recent = notifications_recent(user=request.user)
    notifications_mark_read(user=request.user)
    return render(request, "portal/notifications.html", {"notifications": recent})


@login_required
@require_GET
def notifications_count_view(request: HttpRequest) -> HttpResponse:
    """The nav's notification link with its count (the context processor fills it in)."""
    return render(request, "portal/_nav_notifications.html")


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(user=request.user)
    back = request.POST.get("next", "")
    # Only back to a page of this site, never to a URL someone else wrote into the form.
    if url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(back)
    return redirect("deployments:list")
