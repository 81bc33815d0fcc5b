"""The deployments list at scale: the API answers a page in a constant number of queries
(no lookup per row), and the HTML list is paginated with a bounded page size, whatever
`page` a client sends."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deployments.choices import Status
from deployments.views import LIST_PAGE_SIZE
from tests.factories import DeploymentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deployments/"
# A signed-in user: their permissions (two, for the platform-admin check), the count and
# the page, the teams a subquery of both, and the deployments that run on the page's (one
# read for the page: deployments.selectors deployment_list).
API_LIST_QUERIES = 5


def _decided(team: Any, n: int) -> None:
    """n deployments, each asked for and decided by a different person (the N+1 shape)."""
    for i in range(n):
        DeploymentFactory(
            team=team,
            status=Status.READY,
            requested_by=UserFactory(username=f"req-{n}-{i}"),
            decided_by=UserFactory(username=f"dec-{n}-{i}"),
            decided_at=timezone.now(),
            endpoint_url=f"https://llm-{i}.example.run.app",
            failure_step="deploy" if i % 2 else "",
            failure_message="boom" if i % 2 else "",
        )


def _api_queries(api: Any, user: Any) -> tuple[int, dict[str, Any]]:
    # A fresh instance, as each request loads: Django caches permissions on the instance.
    api.force_authenticate(type(user).objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL, {"limit": 100})
    assert response.status_code == 200
    return len(queries), response.json()


@pytest.mark.parametrize("rows", [3, 30])
def test_the_api_list_takes_a_few_queries_however_many_rows(
    api: Any, deployer: Any, team: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    _decided(team, rows)
    api.force_authenticate(deployer)
    with django_assert_max_num_queries(API_LIST_QUERIES):
        response = api.get(URL, {"limit": 100})
    body = response.json()
    assert body["count"] == rows
    assert {row["decided_by"] for row in body["results"]} == {
        f"dec-{rows}-{i}" for i in range(rows)
    }


def test_the_api_list_query_count_does_not_grow_with_the_rows(
    api: Any, deployer: Any, team: Any
) -> None:
    _decided(team, 3)
    few, _ = _api_queries(api, deployer)
    _decided(team, 27)
    many, body = _api_queries(api, deployer)
    assert body["count"] == 30
    assert many == few


def test_the_html_list_shows_one_bounded_page(
    client: Any, deployer: Any, team: Any, django_assert_max_num_queries: Any
) -> None:
    _decided(team, LIST_PAGE_SIZE + 5)
    client.force_login(deployer)
    with django_assert_max_num_queries(12):
        first = client.get(reverse("deployments:list"))
    assert first.status_code == 200
    assert len(first.context["deployments"]) == LIST_PAGE_SIZE
    second = client.get(reverse("deployments:list"), {"page": 2})
    assert len(second.context["deployments"]) == 5
    shown = {d.pk for d in first.context["deployments"]} | {
        d.pk for d in second.context["deployments"]
    }
    assert len(shown) == LIST_PAGE_SIZE + 5
    assert "page=2" in first.content.decode()


def test_the_html_list_keeps_the_filter_across_pages(client: Any, deployer: Any, team: Any) -> None:
    _decided(team, LIST_PAGE_SIZE + 1)
    client.force_login(deployer)
    html = client.get(reverse("deployments:list"), {"status": "ready"}).content.decode()
    assert "status=ready&amp;page=2" in html


@pytest.mark.parametrize(
    "page",
    ["0", "-1", "abc", "1e9", "99999999999", "9" * 5000, "\x00", "", "2.5", "last"],
)
def test_a_hostile_page_number_shows_a_page_never_an_error(
    client: Any, deployer: Any, team: Any, page: str
) -> None:
    _decided(team, 3)
    client.force_login(deployer)
    response = client.get(reverse("deployments:list"), {"page": page})
    assert response.status_code == 200
    assert len(response.context["deployments"]) == 3
