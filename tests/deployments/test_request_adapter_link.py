"""A ready gke-inference-gateway deployment's page offers "Request an adapter" to those
who may request one for its team; the form it opens has that base chosen."""

from typing import Any

import pytest
from django.urls import reverse

from deployments.choices import Status
from deployments.models import Deployment
from tests.deployments.targets.test_gke_inference_gateway_adapter_target import base_deployment

pytestmark = pytest.mark.django_db

LINK = "Request an adapter"


def test_a_ready_base_offers_an_adapter_form_with_itself_chosen(
    client: Any, team: Any, deployer: Any
) -> None:
    base = base_deployment(team)
    client.force_login(deployer)
    html = client.get(reverse("deployments:detail", args=[base.pk])).content.decode()
    link = f"{reverse('deployments:new')}?target=gke-inference-gateway-adapter&amp;base={base.pk}"
    assert LINK in html and link in html

    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'<option value="{base.pk}" selected>' in form
    assert 'name="target" value="gke-inference-gateway-adapter"' in form


@pytest.mark.parametrize("status", [Status.DEPLOYING, Status.FAILED])
def test_a_base_that_is_not_ready_offers_none(
    client: Any, team: Any, deployer: Any, status: Status
) -> None:
    base = base_deployment(team, status=status)
    client.force_login(deployer)
    assert LINK not in client.get(reverse("deployments:detail", args=[base.pk])).content.decode()


def test_a_member_who_cannot_request_is_not_offered_one(
    client: Any, team: Any, member: Any
) -> None:
    base = base_deployment(team)
    client.force_login(member)
    assert LINK not in client.get(reverse("deployments:detail", args=[base.pk])).content.decode()


def test_the_adapter_form_asks_one_name_and_no_busy_hours(
    client: Any, team: Any, deployer: Any
) -> None:
    base = base_deployment(team)
    client.force_login(deployer)
    form = client.get(f"{reverse('deployments:new')}?target=gke-inference-gateway-adapter")
    html = form.content.decode()
    assert 'name="slug"' in html
    assert 'name="name"' not in html
    assert 'name="busy_hours_per_day"' not in html

    posted = {
        "team": team.pk,
        "slug": "sql-lora",
        "target": "gke-inference-gateway-adapter",
        "model": "llama-3.1-8b-instruct",
        "base": base.pk,
        "source": "someone/llama3.1-sql-lora-r8",
        "rank": 8,
        "priority": 5,
    }
    response = client.post(reverse("deployments:new"), posted)
    assert response.status_code == 302, response.content.decode()[:2000]
    adapter = Deployment.objects.get(slug="sql-lora")
    assert adapter.spec["name"] == "sql-lora"  # the one Name is the served name too

    # A name the base already serves is refused on the Name field.
    taken = client.post(reverse("deployments:new"), {**posted, "slug": "food-review"})
    assert taken.status_code == 400
    assert "already answers to food-review" in taken.content.decode()


@pytest.mark.parametrize("query", ["base=²", "base=" + "9" * 13, "from=²"])
def test_a_number_that_is_no_id_is_not_a_server_error(
    client: Any, deployer: Any, query: str
) -> None:
    client.force_login(deployer)
    response = client.get(
        f"{reverse('deployments:new')}?target=gke-inference-gateway-adapter&{query}"
    )
    # No base is chosen from it; a `from` that names nothing is a 404.
    if query.startswith("from"):
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert '<option value="" selected>' in response.content.decode()
