"""Fixtures shared by every test: people and teams, API clients, the sandbox, a real worker."""

import pytest
from rest_framework.test import APIClient

from portal.models import Role
from portal.services import api_token_create
from tests.factories import MembershipFactory, TeamFactory, UserFactory, platform_admin

pytest_plugins = ["tests.sandbox_fixtures", "tests.worker_fixtures"]


@pytest.fixture(autouse=True)
def google_gpu_quota(request, monkeypatch):
    """Google's GPU quota as the sandbox serves it by default, for tests that weigh a request
    without starting the sandbox (those that start it read the sandbox's own). The cached
    read is dropped either way, so no test sees another's."""
    from django.core.cache import cache

    from deployments.services import google_capacity
    from sandbox.core.project import GPU_REGIONS
    from sandbox.project_apis.api import DEFAULT_GPU_QUOTA

    cache.clear()
    if "sandbox" not in request.fixturenames:
        monkeypatch.setattr(
            google_capacity, "_read", lambda quota_id: dict.fromkeys(GPU_REGIONS, DEFAULT_GPU_QUOTA)
        )
    yield
    cache.clear()


@pytest.fixture
def team(db):
    return TeamFactory(slug="ml-research", name="ML Research")


@pytest.fixture
def other_team(db):
    return TeamFactory(slug="search", name="Search")


@pytest.fixture
def deployer(team):
    return MembershipFactory(team=team, user=UserFactory(username="dev"), role=Role.DEPLOYER).user


@pytest.fixture
def member(team):
    return MembershipFactory(team=team, user=UserFactory(username="mia"), role=Role.MEMBER).user


@pytest.fixture
def team_admin(team):
    return MembershipFactory(team=team, user=UserFactory(username="ada"), role=Role.ADMIN).user


@pytest.fixture
def outsider(other_team):
    return MembershipFactory(
        team=other_team, user=UserFactory(username="pat"), role=Role.DEPLOYER
    ).user


@pytest.fixture
def approver(db):
    return platform_admin("root")


@pytest.fixture
def api():
    """An API client; call .force_authenticate(user) or .credentials(...)."""
    return APIClient()


@pytest.fixture
def team_token(team, team_admin):
    """A team API token's secret, as another platform would hold it."""
    _, secret = api_token_create(team=team, owner=team_admin, name="ci")
    return secret
