"""The HTML pages. Each view parses input, calls one service or selector, and renders.

Rules (who may approve, which moves are legal, what fits on a GPU) live in the
services; the views only choose which buttons to show and turn an
ApplicationError into a message next to a field or at the top of the page.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.models import Cluster
from deployments.choices import ROLLING_STATES, TERMINAL_STATES, Phase, Status
from deployments.filters import deployment_filter
from deployments.forms import request_form_class
from deployments.logs import deployment_logs
from deployments.models import Deployment, DeploymentEvent
from deployments.plans import plan_for
from deployments.selectors import (
    SPEC_CLUSTER_KEY,
    deployment_get,
    deployment_list,
    deployment_pending_approval,
    deployment_request_values,
    deployment_review_facts_of,
    deployment_still_billed,
    deployment_timeline_cursor,
    deployment_timeline_page,
    deployment_timeline_since,
    step_usual_durations,
)
from deployments.services.decisions import (
    deployment_approve,
    deployment_reject,
    is_own_request,
    offers_external_gateway,
)
from deployments.services.lifecycle import deployment_retry, deployment_tear_down
from deployments.services.requests import deployment_request
from deployments.targets import spec_for, target_choices, target_for
from portal.access import is_platform_admin, role_at_least, role_in_team
from portal.exceptions import ApplicationError, NotFound, ValidationFailed
from portal.models import Role
from portal.notifications import notifications_mark_read
from portal.paging import page_of, with_links
from runbook.models import StepRun

# Pages showing a deployment in these states refresh themselves until it moves on.
WATCHED_STATES = frozenset({Status.PENDING_APPROVAL})
# A request that went nowhere can be edited and asked for again, as a new request.
RESUBMITTABLE_STATES = frozenset({Status.FAILED, Status.REJECTED})
# Rows per page of the deployments list: a page stays small however many there are.
LIST_PAGE_SIZE = 50
# Requests per page of the approvals page, each with its plan and quotas.
APPROVALS_PAGE_SIZE = 20
# Rows per page of a deployment's timeline (newest page first); the poll adds to it.
TIMELINE_PAGE_SIZE = 50


@login_required
@require_GET
def deployment_list_view(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    filtered = deployment_filter(
        data=request.GET, queryset=deployment_list(user=request.user), hide_torn_down=not show_all
    )
    # get_page: a page that is no number shows the first, one past the end the last.
    page = Paginator(filtered.qs.order_by("-created_at", "-pk"), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filtered,
        "deployments": page.object_list,
        "page": page,
        "query": query.urlencode(),
        "show_all": show_all,
    }
    return render(request, "deployments/list.html", context)


# The request form's fields every target has, kept when the user switches target tab.
CARRIED_FIELDS = ("team", "slug", "justification")
CARRIED_MAX_CHARS = 2000


@login_required
@require_http_methods(["GET", "POST"])
def deployment_new_view(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("target") or request.GET.get("target", "")
    previous = _previous_request(request)
    if previous is not None:
        target = previous.target
    form_class = request_form_class(target)
    initial = deployment_request_values(deployment=previous) if previous else None
    form = form_class(
        request.POST or None, user=request.user, **({"initial": initial} if initial else {})
    )
    base = request.GET.get("base", "")
    if initial is None and _digits(base, 12):  # "Request an adapter" on a base
        form.initial["base"] = int(base)
    if initial is None and request.method == "GET":
        # What the target tabs carry over (static/hangar.js): switching target keeps them.
        for name in CARRIED_FIELDS:
            if request.GET.get(name):
                form.initial[name] = request.GET[name][:CARRIED_MAX_CHARS]
    if request.method == "POST" and form.is_valid():
        try:
            deployment = deployment_request(
                team=form.cleaned_data["team"],
                requested_by=request.user,
                target=form.cleaned_data["target"],
                slug=form.cleaned_data["slug"],
                values=form.service_values(),
                **form.governance_values(),
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc.fields, exc.message)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _requested_message(deployment))
            return redirect("deployments:detail", pk=deployment.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "targets": target_choices(),
        "current_target": form_class.target_def.name,
        "previous": previous,
        "carried": CARRIED_FIELDS,
    }
    return render(request, form_class.target_def.form_template, context, status=status)


def _digits(raw: str, most: int) -> bool:
    """Whether `raw` is an id or a cursor: 1 to `most` ASCII digits (str.isdigit alone
    takes "²", which int() refuses)."""
    return 0 < len(raw) <= most and raw.isascii() and raw.isdigit()


def _previous_request(request: HttpRequest) -> Deployment | None:
    """The request being edited and submitted again (`?from=<id>`), if the user can see it."""
    raw = request.GET.get("from", "") if request.method == "GET" else ""
    if not raw:
        return None
    if not _digits(raw, 12):
        raise Http404("No such deployment.")
    return _get_or_404(request, int(raw))


def _requested_message(deployment: Deployment) -> str:
    if deployment.auto_approved:
        return f"{deployment.slug} was approved automatically and is rolling out."
    return f"Requested {deployment.slug}. A platform admin will review it."


@login_required
@require_GET
def deployment_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _get_or_404(request, pk)
    # What the page shows is what its notifications said: they are seen, not new.
    notifications_mark_read(user=request.user, link=reverse("deployments:detail", args=[pk]))
    context = {
        **_live_context(request, deployment),
        "settings_rows": _settings_rows(deployment),
        "plan": _plan(deployment, Phase.DEPLOY),
        "teardown_plan": _plan(deployment, Phase.TEARDOWN),
    }
    return render(request, "deployments/detail.html", context)


@login_required
@require_GET
def deployment_timeline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the detail page (status, endpoint, actions, timeline), for htmx
    polls. With `after` (the cursor the last answer gave), the timeline holds only the
    rows from then on, which the page puts in place of its own (static/hangar.js)."""
    deployment = _get_or_404(request, pk)
    after = _cursor(request.GET.get("after", ""))
    # News that arrives while the page is open (Ready, failed) is seen there.
    notifications_mark_read(user=request.user, link=reverse("deployments:detail", args=[pk]))
    return render(
        request, "deployments/_live.html", _live_context(request, deployment, after=after)
    )


@login_required
@require_GET
def deployment_logs_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The build's and the service's logs from Cloud Logging, for the detail page (htmx)."""
    deployment = _get_or_404(request, pk)
    context = {
        "deployment": deployment,
        "loaded": True,
        "rolling": Status(deployment.status) in ROLLING_STATES,
        "panels": deployment_logs(deployment=deployment),
    }
    return render(request, "deployments/_logs.html", context)


@login_required
@require_GET
def deployment_approvals_view(request: HttpRequest) -> HttpResponse:
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins review deployment requests.")
    page = page_of(request, deployment_pending_approval(), size=APPROVALS_PAGE_SIZE)
    requests = list(page.object_list)
    facts = deployment_review_facts_of(requests)
    referenced = _referenced(requests)
    pending = [
        {
            "deployment": d,
            "plan": _plan(d, Phase.DEPLOY),
            "scaling": target_for(d).scaling_summary(spec_for(d)),
            "settings": _settings_rows(d, referenced),
            "own_request": is_own_request(d, request.user),
            "offer_external_gateway": offers_external_gateway(d),
            **facts[d.pk],
        }
        for d in requests
    ]
    return render(request, "deployments/approvals.html", {"pending": pending, "page": page})


def _action(
    service: Callable[..., Deployment],
    done: str,
    *,
    with_reason: bool = False,
    checkboxes: tuple[str, ...] = (),
) -> Callable[[HttpRequest, int], HttpResponse]:
    """A POST-only view that calls one lifecycle service and returns to the detail page;
    each of `checkboxes` is passed on as a boolean (a ticked box is posted, an unticked
    one is not)."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        deployment = _get_or_404(request, pk)
        kwargs: dict[str, Any] = {"deployment": deployment, "by": request.user}
        if with_reason:
            kwargs["reason"] = request.POST.get("reason", "").strip()
        kwargs.update({name: name in request.POST for name in checkboxes})
        try:
            deployment = service(**kwargs)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done.format(slug=deployment.slug))
        return redirect("deployments:detail", pk=pk)

    view.__name__ = f"{service.__name__}_view"
    return view


deployment_approve_view = _action(
    deployment_approve,
    "Approved {slug}; the rollout is queued.",
    with_reason=True,
    checkboxes=("external_gateway",),
)
deployment_reject_view = _action(deployment_reject, "Rejected {slug}.", with_reason=True)
deployment_tear_down_view = _action(
    deployment_tear_down, "Tear down of {slug} requested.", with_reason=True
)
deployment_retry_view = _action(deployment_retry, "Retrying {slug} from the step that failed.")


# --- presentation helpers: no rules, only shaping what the templates show ---


def _get_or_404(request: HttpRequest, pk: int) -> Deployment:
    try:
        return deployment_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _live_context(
    request: HttpRequest, deployment: Deployment, *, after: datetime | None = None
) -> dict[str, Any]:
    status = Status(deployment.status)
    user = request.user
    role = role_in_team(user=user, team=deployment.team)
    is_admin = is_platform_admin(user)
    can_operate = is_admin or role_at_least(role, Role.DEPLOYER)
    titles = _step_titles(deployment)
    endpoint = target_for(deployment).endpoint(spec_for(deployment))
    now = timezone.now()
    if after is None:
        page = deployment_timeline_page(
            deployment=deployment, number=request.GET.get("timeline"), size=TIMELINE_PAGE_SIZE
        )
        with_links(request, page, "timeline")
        events = list(page.object_list)
    else:
        page, events = None, deployment_timeline_since(deployment=deployment, since=after)
    return {
        "deployment": deployment,
        "endpoint": endpoint,
        "rolling": status in ROLLING_STATES,
        # A request waiting on its decision also watches for it, less often.
        "poll_seconds": 2 if status in ROLLING_STATES else 5 if status in WATCHED_STATES else 0,
        "calling": _calling(request, deployment, endpoint.served_models),
        "timeline": _timeline_rows(deployment, titles, events),
        "timeline_page": page,
        # Only the newest page grows as the rollout writes; the poll asks from here on.
        "timeline_since": _cursor_text(after) if after else "",
        "timeline_cursor": _cursor_text(deployment_timeline_cursor(deployment=deployment, now=now))
        if page is None or page.number == 1
        else "",
        "failure_title": next(
            (t for (_, key), t in titles.items() if key == deployment.failure_step), ""
        ),
        "show_decide": is_admin and status == Status.PENDING_APPROVAL,
        "own_request": is_own_request(deployment, user),
        "offer_external_gateway": is_admin and offers_external_gateway(deployment),
        "show_tear_down": can_operate and status not in TERMINAL_STATES,
        "show_retry": can_operate and status == Status.FAILED,
        "still_billed": deployment_still_billed(deployment=deployment),
        "show_resubmit": can_operate and status in RESUBMITTABLE_STATES,
    }


def _cursor(raw: str) -> datetime | None:
    """A timeline cursor (microseconds since the epoch, as _cursor_text writes it); None
    for anything else, which then gets the whole first page."""
    if not _digits(raw, 18):
        return None
    try:
        return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(raw))
    except OverflowError:  # past the year 9999
        return None


def _cursor_text(moment: datetime) -> str:
    return str((moment - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1))


def _calling(
    request: HttpRequest, deployment: Deployment, models: tuple[str, ...]
) -> dict[str, str]:
    """What the Ready box needs for its snippets: the team's OpenAI-compatible base URL."""
    models_url = reverse("playground-openai", kwargs={"pk": deployment.pk, "route": "models"})
    return {
        "base_url": request.build_absolute_uri(models_url).removesuffix("/models"),
        "model": models[0] if models else "",
        "playground_url": f"{reverse('playground:index')}?deployment={deployment.pk}",
    }


def _plan(deployment: Deployment, phase: Phase) -> dict[str, Any]:
    plan = plan_for(deployment, phase).as_dict()
    for step in plan["steps"]:
        body = step["request"]["body"]
        step["body_json"] = json.dumps(body, indent=2) if body is not None else ""
    return plan


def _step_titles(deployment: Deployment) -> dict[tuple[str, str], str]:
    titles = {}
    for phase in Phase:
        for step in plan_for(deployment, phase).steps:
            titles[(phase.value, step.key)] = step.title
    return titles


def _step_positions(deployment: Deployment) -> dict[tuple[str, str], tuple[int, int]]:
    """(phase, step) → (N, M): the step's place in its plan, for "step N of M"."""
    positions = {}
    for phase in Phase:
        steps = plan_for(deployment, phase).steps
        for n, step in enumerate(steps, start=1):
            positions[(phase.value, step.key)] = (n, len(steps))
    return positions


def _timeline_rows(
    deployment: Deployment,
    titles: dict[tuple[str, str], str],
    events: list[DeploymentEvent | StepRun],
) -> list[dict[str, Any]]:
    positions = _step_positions(deployment)
    usual = step_usual_durations(target=deployment.target) if events else {}
    rows: list[dict[str, Any]] = []
    for event in events:
        at = _cursor_text(event.created_at)
        if not isinstance(event, StepRun):
            rows.append({"event": event, "at": at})
            continue
        key = (event.phase, event.step)
        rows.append(
            {
                "event": event,
                "at": at,
                "title": titles.get(key, event.step),
                "duration": _duration(event),
                "position": positions.get(key),
                "usually": _format_seconds(usual[key]) if key in usual else "",
            }
        )
    return rows


def _duration(event: StepRun) -> str:
    if not (event.started_at and event.finished_at):
        return ""
    return _format_seconds(event.finished_at - event.started_at)


def _format_seconds(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _referenced(deployments: list[Deployment]) -> dict[tuple[str, int], tuple[str, str]]:
    """(field, id) → (name, page) of the clusters and base deployments the requests'
    settings name by id, read for all of them in two queries."""
    clusters: set[int] = set()
    bases: dict[int, str] = {}  # base id → the field that names it
    for deployment in deployments:
        spec = spec_for(deployment)
        if isinstance(cluster := getattr(spec, SPEC_CLUSTER_KEY, None), int):
            clusters.add(cluster)
        if (base := deployment.runs_on_id) is not None:
            field = next((n for n in type(spec).field_names() if getattr(spec, n) == base), "base")
            bases[base] = field
    names: dict[tuple[str, int], tuple[str, str]] = {}
    for pk, row in Cluster.objects.only("name").in_bulk(clusters).items():
        names[(SPEC_CLUSTER_KEY, pk)] = (row.name, reverse("clusters:detail", args=[pk]))
    for pk, dep in Deployment.objects.only("slug").in_bulk(list(bases)).items():
        names[(bases[pk], pk)] = (dep.slug, reverse("deployments:detail", args=[pk]))
    return names


def _settings_rows(
    deployment: Deployment, referenced: dict[tuple[str, int], tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """The request's settings, labelled and explained as on the request form; a cluster or
    deployment the spec names by id shown by its name, linked."""
    if referenced is None:
        referenced = _referenced([deployment])
    form_fields = request_form_class(deployment.target).base_fields
    spec = spec_for(deployment)
    rows = []
    for name in type(spec).field_names():
        # What the request asked; a value set from elsewhere (a GKE target's region, the
        # cluster's) has no form field and is shown apart.
        if (field := form_fields.get(name)) is None:
            continue
        value = getattr(spec, name)
        choices = dict(getattr(field, "choices", []) or [])
        shown, url = (
            referenced.get((name, value), (None, "")) if isinstance(value, int) else (None, "")
        )
        if shown is None:
            shown = "not set" if value in (None, "") else choices.get(value, value)
        rows.append(
            {
                "name": name,
                "label": field.label or name.replace("_", " ").capitalize(),
                "value": shown,
                "url": url,
                "help": field.help_text,
            }
        )
    return rows
