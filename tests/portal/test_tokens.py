"""API tokens: a team token cannot expire in the past; approval tokens have their own page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.exceptions import ValidationFailed
from portal.models import ApiToken, TokenScope
from portal.services import api_token_create

pytestmark = pytest.mark.django_db


def test_a_token_cannot_expire_in_the_past_in_the_service(team, team_admin):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(
            team=team, owner=team_admin, name="ci", expires_at=timezone.now() - timedelta(days=1)
        )
    assert "expires_at" in caught.value.fields
    assert not ApiToken.objects.exists()


def test_a_token_cannot_expire_in_the_past_on_the_form(client, team, team_admin):
    client.force_login(team_admin)
    response = client.post(
        f"/teams/{team.slug}/tokens/", {"name": "ci", "expires_at": "2001-01-01T00:00"}
    )
    assert response.status_code == 400
    assert "Pick a time in the future" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_name_has_a_length_limit(client, team, team_admin):
    client.force_login(team_admin)
    response = client.post(f"/teams/{team.slug}/tokens/", {"name": "x" * 101})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_platform_admin_makes_and_revokes_an_approval_token_on_its_page(client, approver):
    client.force_login(approver)
    assert client.get("/approval-tokens/").status_code == 200
    response = client.post("/approval-tokens/", {"name": "approver-bot"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scope == TokenScope.APPROVE and token.owner == approver
    assert f"hgr_{token.prefix}_" in response.content.decode()  # the secret, shown once
    client.post(f"/approval-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_only_platform_admins_reach_the_approval_token_page(client, team_admin):
    client.force_login(team_admin)
    assert client.get("/approval-tokens/").status_code == 403
    assert client.post("/approval-tokens/", {"name": "sneaky"}).status_code == 403
    assert not ApiToken.objects.exists()
