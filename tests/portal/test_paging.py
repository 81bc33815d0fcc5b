"""Every paged list takes any `?<param>=`: what is no page number shows the first page, one
past either end the nearest real one, never a server error (portal/paging.py page_of)."""

import re
from html import unescape
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.models import AuditEvent
from portal.paging import page_of
from portal.views_oversight import AUDIT_PAGE_SIZE
from tests.factories import DeploymentFactory, TeamFactory
from tests.page_rows import fill_spend

pytestmark = pytest.mark.django_db

HOSTILE = [
    "0",
    "-1",
    "3",
    "99999999999999999999999999999",
    "9" * 5000,  # past int()'s digit limit
    "1e9",
    "1.5",
    "nan",
    "inf",
    "two",
    "",
    "%00",
]


@pytest.mark.parametrize("asked", HOSTILE)
def test_any_page_parameter_shows_a_real_page(asked: str) -> None:
    items = list(range(25))
    page = page_of(RequestFactory().get("/", {"p": asked, "q": "kept"}), items, size=10, param="p")
    assert 1 <= page.number <= 3
    assert list(page.object_list) == items[(page.number - 1) * 10 : page.number * 10]
    assert (page.param, page.query) == ("p", "q=kept")  # type: ignore[attr-defined]


def test_a_page_past_the_end_is_the_last_and_no_number_the_first() -> None:
    def number(asked: str) -> int:
        request = RequestFactory().get("/", {"page": asked})
        return int(page_of(request, list(range(25)), size=10).number)

    assert [number(a) for a in ("99999999999999999999", "two", "2")] == [3, 1, 2]


@pytest.mark.parametrize("asked", ["99999999999999999999999999999", "-5", "x", "9" * 5000])
def test_the_paged_pages_answer_a_hostile_page_number(
    client, team, deployer, approver, asked
) -> None:
    deployment: Any = DeploymentFactory(team=team, requested_by=deployer, status="ready")
    fill_spend([deployment])  # a measured, idle day: every table of the team page
    TeamFactory()
    team_page = reverse("team-detail", args=[team.slug])
    for user, url, params in [
        (deployer, reverse("team-list"), {"page": asked}),
        (deployer, team_page, {"spent": asked, "ranked": asked, "idle": asked}),
        (approver, reverse("spend"), {"page": asked}),
        (approver, reverse("audit"), {"page": asked}),
        (approver, reverse("deployments:approvals"), {"page": asked}),
        (approver, reverse("deployments:list"), {"page": asked}),
        (approver, reverse("deployments:detail", args=[deployment.pk]), {"timeline": asked}),
    ]:
        client.force_login(user)
        assert client.get(url, params).status_code == 200, url


def test_the_audit_pager_keeps_the_filters_and_names_its_page_once(client, approver) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(action="quota.changed", object_type="team", object_id=str(n), object_repr="t")
        for n in range(AUDIT_PAGE_SIZE + 1)
    )
    client.force_login(approver)
    html = unescape(client.get(reverse("audit"), {"action": "quota", "page": "2"}).content.decode())
    links = re.findall(r'href="\?([^"#]*)', html)
    assert "action=quota&page=1" in links  # back to the newer page, the filter kept
    assert "action=quota&format=csv" in links  # the export takes the filter, not the page
    assert all(link.count("page=") <= 1 for link in links)
