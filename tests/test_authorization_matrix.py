"""Who reaches what: every route of the URL configuration × every kind of caller.

The routes are read from the URL configuration itself, so a route added without an
entry in ROUTES fails test_every_route_has_an_entry. Each entry names, per method, the
callers that get through; everyone else must be refused (401, 403, 404, a redirect to
sign in, or a redirect carrying an error message), and a refused request changes nothing
the audit trail would show. No caller ever gets a 5xx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from clusters.models import Cluster
from deployments.choices import Status
from playground.db import db_pool_close
from playground.models import Conversation
from portal.models import AuditEvent
from portal.services import api_token_create, approval_token_create
from tests.factories import DeploymentFactory

# The proxy's routes read sessions and rows from their own DB threads: those cases run
# in committed transactions, the rest in the faster rolled-back ones.
PROXY_ROUTES = {"playground:chat", "playground:models", "playground-openai"}

ANON, OUTSIDER, MEMBER, TOKEN, DEPLOYER, TEAM_ADMIN, PLATFORM_ADMIN = (
    "anonymous",
    "other team's member",
    "member",
    "team token",
    "deployer",
    "team admin",
    "platform admin",
)
# Refused callers first: what they try must change nothing for those after them.
CALLERS = (ANON, OUTSIDER, MEMBER, TOKEN, DEPLOYER, TEAM_ADMIN, PLATFORM_ADMIN)
SIGNED_IN = {OUTSIDER, MEMBER, DEPLOYER, TEAM_ADMIN, PLATFORM_ADMIN}
TEAM = {MEMBER, DEPLOYER, TEAM_ADMIN}
TEAM_ADMINS = {TEAM_ADMIN}
ADMINS = {PLATFORM_ADMIN}
NOBODY: set[str] = set()


@dataclass(frozen=True)
class Call:
    """Who gets through one method of a route; `body` makes the request a real attempt."""

    allowed: set[str]
    body: dict[str, Any] = field(default_factory=dict)
    # Callers whose outcome depends on what those before them did (shown, not judged).
    either: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Route:
    get: Call | None = None
    post: Call | None = None
    api: bool = False  # a team token can authenticate here


REASON = {"reason": "matrix"}
NEW = {"team": "ml-research", "slug": "matrix", "model": "gemma3-4b"}
CLUSTER = {"mode": "register", "project": "hangar-sandbox", "location": "us-central1", "name": "m"}
CAPACITY = {
    "form": "project",
    "project-region": "us-east4",
    "project-gpu_type": "nvidia-l4",
    "project-max_gpus": "3",
}

ROUTES: dict[str, Route] = {
    "": Route(get=Call(SIGNED_IN | {ANON, TOKEN})),  # a redirect to the list for everyone
    # Open to all; signing out sends everyone to the sign-in page, which is not a refusal.
    "login": Route(get=Call(set(CALLERS))),
    "logout": Route(post=Call(NOBODY, either=set(CALLERS))),
    "deployments:list": Route(get=Call(SIGNED_IN)),
    # Naming a team one cannot deploy to is a field error (400), as a typo would be.
    "deployments:new": Route(
        get=Call(SIGNED_IN),
        post=Call({DEPLOYER, TEAM_ADMIN}, NEW, either={OUTSIDER, MEMBER, PLATFORM_ADMIN}),
    ),
    "deployments:estimate": Route(get=Call(SIGNED_IN)),
    "deployments:approvals": Route(get=Call(ADMINS)),
    "deployments:detail": Route(get=Call(TEAM | ADMINS)),
    "deployments:timeline": Route(get=Call(TEAM | ADMINS)),
    "deployments:logs": Route(get=Call(TEAM | ADMINS)),
    "deployments:approve": Route(post=Call(ADMINS, REASON)),
    "deployments:reject": Route(post=Call(ADMINS, REASON)),
    # Pending requests cannot be torn down or retried: reaching the rule is the point here.
    "deployments:tear_down": Route(post=Call(TEAM | ADMINS, REASON, either=TEAM | ADMINS)),
    "deployments:retry": Route(post=Call(TEAM | ADMINS, either=TEAM | ADMINS)),
    "team-list": Route(get=Call(SIGNED_IN)),
    "team-detail": Route(get=Call(TEAM | ADMINS)),
    "team-token-create": Route(post=Call(TEAM_ADMINS, {"name": "matrix"})),
    "team-token-revoke": Route(post=Call(TEAM_ADMINS)),
    "team-hf-token": Route(get=Call(TEAM), post=Call(TEAM_ADMINS, {"remove": "1"})),
    "approval-tokens": Route(get=Call(ADMINS), post=Call(ADMINS, {"name": "matrix"})),
    "approval-token-revoke": Route(post=Call(ADMINS)),
    "spend": Route(get=Call(ADMINS)),
    "audit": Route(get=Call(ADMINS)),
    "notifications": Route(get=Call(SIGNED_IN)),
    "notifications-count": Route(get=Call(SIGNED_IN)),
    "notifications-read": Route(post=Call(SIGNED_IN)),
    "playground:index": Route(get=Call(SIGNED_IN)),
    # Members of the deployment's team reach the endpoint check (the request is pending).
    "playground:chat": Route(post=Call(TEAM)),
    "playground:models": Route(get=Call(TEAM)),
    "playground:export_all": Route(get=Call(SIGNED_IN)),
    "playground:conversation": Route(get=Call({DEPLOYER})),
    "playground:export": Route(get=Call({DEPLOYER})),
    "playground:delete": Route(post=Call({DEPLOYER})),
    "playground-openai": Route(get=Call({TOKEN}), post=Call({TOKEN}), api=True),
    "estimate": Route(post=Call(SIGNED_IN | {TOKEN}, {"model": "gemma3-4b"}), api=True),
    "deployment-list": Route(
        get=Call(SIGNED_IN | {TOKEN}),
        post=Call({DEPLOYER, TEAM_ADMIN, TOKEN}, NEW, either={OUTSIDER, PLATFORM_ADMIN}),
        api=True,
    ),
    "deployment-detail": Route(get=Call(TEAM | ADMINS | {TOKEN}), api=True),
    "deployment-plan": Route(get=Call(TEAM | ADMINS | {TOKEN}), api=True),
    "deployment-events": Route(get=Call(TEAM | ADMINS | {TOKEN}), api=True),
    # Only an approval token decides over the API (its own tests: test_separation_of_duties).
    "deployment-approve": Route(post=Call(NOBODY, REASON), api=True),
    "deployment-reject": Route(post=Call(NOBODY, REASON), api=True),
    "deployment-tear-down": Route(
        post=Call(TEAM | ADMINS | {TOKEN}, REASON, either=TEAM | ADMINS | {TOKEN}), api=True
    ),
    "deployment-retry": Route(
        post=Call(TEAM | ADMINS | {TOKEN}, either=TEAM | ADMINS | {TOKEN}), api=True
    ),
    "api-root": Route(get=Call(SIGNED_IN | {TOKEN}), api=True),
    # The schema and its docs are public: they describe the API, they hold no data.
    "api-schema": Route(get=Call(set(CALLERS)), api=True),
    "api-docs": Route(get=Call(set(CALLERS)), api=True),
    "api-not-found": Route(get=Call(NOBODY), post=Call(NOBODY), api=True),
    # Off without METRICS_TOKEN, as here; on, its bearer or a platform admin (tests/telemetry).
    "metrics": Route(get=Call(NOBODY)),
    "metering-server-metrics": Route(get=Call(TEAM | ADMINS)),
    # The platform admins' administration pages (tests/portal/test_platform_admin_pages.py).
    "clusters:list": Route(get=Call(ADMINS)),
    "clusters:new": Route(get=Call(ADMINS), post=Call(ADMINS, CLUSTER)),
    "clusters:detail": Route(get=Call(ADMINS), post=Call(ADMINS, REASON)),
    # A ready cluster has nothing to retry: reaching the rule is the point here.
    "clusters:retry": Route(post=Call(ADMINS, either=ADMINS)),
    "clusters:remove": Route(post=Call(ADMINS, REASON)),
    "deployments:quotas": Route(get=Call(ADMINS), post=Call(ADMINS, CAPACITY)),
}
# The Django admin is one rule for all its pages: staff only (platform admins are staff;
# the portal's model pages then ask for the platform admin role itself, PlatformAdminOnly in
# portal/admin.py, tests/portal/test_platform_admin_pages.py). Its sign-in and sign-out are
# open.
ADMIN_SITE = Route(get=Call(NOBODY, either=ADMINS))
ADMIN_OPEN = Route(get=Call(set(CALLERS)), post=Call(NOBODY, either=set(CALLERS)))


def _routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = ":".join(filter(None, [namespace, p.namespace or ""]))
            found += _routes(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            pattern = prefix + str(p.pattern)
            if "format>" in pattern:  # DRF's ".json" twin of a route listed without it
                continue
            name = ":".join(filter(None, [namespace, p.name or ""])) if p.name else ""
            if pattern.startswith("admin/"):
                name = "admin:" + pattern
            elif pattern.startswith("^api/(?P<rest>"):
                name = "api-not-found"
            found.append((name, pattern))
    return found


URLCONF_ROUTES = _routes(get_resolver().url_patterns)


def test_every_route_has_an_entry():
    named = {name for name, _ in URLCONF_ROUTES if not name.startswith("admin:")}
    assert named - set(ROUTES) == set(), "add these routes to ROUTES with who may reach them"
    assert set(ROUTES) - named == set(), "these ROUTES entries name no route any more"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.fixture
def world(team, other_team, member, deployer, team_admin, outsider, approver):
    deployment = DeploymentFactory(team=team, requested_by=deployer, status=Status.PENDING_APPROVAL)
    token, secret = api_token_create(team=team, owner=team_admin, name="matrix-token")
    approval, _ = approval_token_create(owner=approver, name="matrix-approval")
    conversation = Conversation.objects.create(
        user=deployer, deployment=deployment, title="matrix", model_name="gemma3:4b"
    )
    cluster = Cluster.objects.create(
        project="hangar-sandbox", location="us-central1", name="matrix", status="ready"
    )
    return {
        "users": {
            OUTSIDER: outsider,
            MEMBER: member,
            DEPLOYER: deployer,
            TEAM_ADMIN: team_admin,
            PLATFORM_ADMIN: approver,
        },
        "secret": secret,
        "kwargs": {
            "pk": deployment.pk,
            "slug": team.slug,
            "route": "models",
            "rest": "nope/",
            "object_id": "1",
            "content_type_id": "1",
            "app_label": "portal",
            "url": "nope/",
            "id": "1",
        },
        "pks": {
            "team-token-revoke": token.pk,
            "approval-token-revoke": approval.pk,
            "playground:conversation": conversation.pk,
            "playground:export": conversation.pk,
            "playground:delete": conversation.pk,
            **{f"clusters:{n}": cluster.pk for n in ("detail", "retry", "remove")},
        },
        "deployment": deployment,
    }


def _path(name: str, pattern: str, world: dict[str, Any]) -> str:
    import re

    kwargs = {**world["kwargs"]}
    if name in world["pks"]:
        kwargs["pk"] = world["pks"][name]
    if name == "playground:chat":
        return "/playground/api/chat"
    path = pattern.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), path)
    return "/" + path.replace("\\", "")


def _refused(response: Any) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith(("/login/", "/admin/login/")):
            return True
        request = getattr(response, "wsgi_request", None)
        if request is not None and any(
            m.level >= message_levels.ERROR for m in get_messages(request)
        ):
            return True
    return False


def _client(caller: str, route: Route, world: dict[str, Any]) -> APIClient:
    client = APIClient()
    if caller == TOKEN:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['secret']}")
    elif caller != ANON:
        client.force_login(world["users"][caller])
    return client


def _body(name: str, call: Call, world: dict[str, Any]) -> dict[str, Any]:
    if name == "playground:chat":
        return {
            "deployment": world["deployment"].pk,
            "messages": [{"role": "user", "content": "hi"}],
        }
    if name == "playground-openai":
        return {"messages": [{"role": "user", "content": "hi"}]}
    return call.body


def _route(name: str) -> Route | None:
    if name in ("admin:admin/login/", "admin:admin/logout/"):
        return ADMIN_OPEN
    return ADMIN_SITE if name.startswith("admin:") else ROUTES.get(name)


def _cases(proxy: bool) -> list[Any]:
    cases = []
    for name, pattern in URLCONF_ROUTES:
        route = _route(name)
        if route is None or (name in PROXY_ROUTES) != proxy:
            continue
        for method in ("get", "post"):
            if getattr(route, method) is not None:
                cases.append(pytest.param(name, pattern, method, id=f"{method} {pattern}"))
    return cases


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "pattern", "method"), _cases(proxy=False))
def test_who_reaches_each_route(world, name, pattern, method):
    _check(world, name, pattern, method)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "pattern", "method"), _cases(proxy=True))
def test_who_reaches_each_proxy_route(world, name, pattern, method):
    try:
        _check(world, name, pattern, method)
    finally:
        db_pool_close()


def _check(world: dict[str, Any], name: str, pattern: str, method: str) -> None:
    route = _route(name)
    assert route is not None
    call: Call = getattr(route, method)
    path = _path(name, pattern, world)
    if name == "playground-openai" and method == "post":
        path = path.replace("/models", "/chat/completions")
    wrong = []
    for caller in CALLERS:
        audit_before = AuditEvent.objects.count()
        client = _client(caller, route, world)
        if method == "get":
            response = client.get(path)
        elif route.api or name == "playground:chat":
            response = client.post(path, _body(name, call, world), format="json")
        else:  # a page's form
            response = client.post(path, _body(name, call, world))
        assert response.status_code < 500, f"{caller}: {response.status_code} on {path}"
        if caller in call.either:
            continue
        refused = _refused(response)
        if refused == (caller in call.allowed):
            wrong.append(
                f"{caller}: {response.status_code} ({'refused' if refused else 'reached'})"
            )
        if refused and name not in ("logout", "login"):
            assert AuditEvent.objects.count() == audit_before, f"{caller} was refused but wrote"
    assert wrong == [], f"{method.upper()} {path}: " + "; ".join(wrong)
