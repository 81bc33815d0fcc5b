"""Team pages (spend, tokens), the spend and audit pages, notifications."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.models import CostAccrual
from portal.models import ApiToken, AuditEvent, Notification
from portal.services import api_token_create
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def page(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def test_team_page_shows_month_to_date_spend_per_deployment(client, team, member):
    deployment = DeploymentFactory(team=team, slug="spendy", status="torn_down")
    now = timezone.now()
    CostAccrual.objects.create(
        deployment=deployment,
        team=team,
        period_start=now - timedelta(hours=1),
        period_end=now,
        amount=Decimal("12.345"),
        hourly_rate=Decimal("12.345"),
    )
    client.force_login(member)
    html = page(client, reverse("team-detail", args=[team.slug]))
    assert "spendy" in html
    assert "$12.35" in html  # month to date, and the deployment's own row
    assert ">Torn down</span>" in html and "torn_down<" not in html
    assert 'data-chart="spend-chart"' in html and '"Spend per day"' in html


def test_other_teams_pages_are_not_found(client, team, outsider):
    client.force_login(outsider)
    assert client.get(reverse("team-detail", args=[team.slug])).status_code == 404


def test_team_admin_creates_a_token_shown_once_and_revokes_it(client, api, team, team_admin):
    client.force_login(team_admin)
    response = client.post(reverse("team-token-create", args=[team.slug]), {"name": "ci"})
    html = response.content.decode()
    token = ApiToken.objects.get(name="ci")
    secret = html.split('<code id="new-token-secret">')[1].split("</code>")[0]
    assert 'data-copy="#new-token-secret"' in html  # a copy button
    assert "It cannot approve spend." in html  # and what the token can do
    assert secret.startswith(f"hgr_{token.prefix}_")
    assert secret not in token.key_hash
    assert secret not in page(client, reverse("team-detail", args=[team.slug]))  # never again

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/deployments/").status_code == 200
    client.post(reverse("team-token-revoke", args=[team.slug, token.pk]))
    assert api.get("/api/v1/deployments/").status_code == 401  # at once
    assert list(
        AuditEvent.objects.filter(object_id=str(token.pk)).values_list("action", flat=True)
    ) == ["token.revoked", "token.created"]


def test_members_cannot_create_tokens(client, team, member):
    client.force_login(member)
    client.post(reverse("team-token-create", args=[team.slug]), {"name": "sneaky"})
    assert not ApiToken.objects.filter(name="sneaky").exists()


def test_an_expired_token_is_refused(api, team, team_admin):
    token, secret = api_token_create(
        team=team, owner=team_admin, name="old", expires_at=timezone.now() + timedelta(minutes=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.get("/api/v1/deployments/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API token is revoked or expired."


def test_requests_made_with_a_token_are_attributed_to_it(api, team, team_admin):
    token, secret = api_token_create(team=team, owner=team_admin, name="pipeline")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.post(
        "/api/v1/deployments/",
        {"team": team.slug, "slug": "via-token", "model": "gemma3-1b"},
        format="json",
    )
    event = AuditEvent.objects.get(action="deployment.requested")
    assert (event.actor, event.actor_token) == (team_admin, token)


def test_spend_page_shows_teams_close_to_budget_first(client, team, other_team, approver):
    team.monthly_budget = Decimal("10")
    team.save()
    deployment = DeploymentFactory(team=team)
    now = timezone.now()
    CostAccrual.objects.create(
        deployment=deployment,
        team=team,
        period_start=now - timedelta(hours=1),
        period_end=now,
        amount=Decimal("9"),
        hourly_rate=Decimal("9"),
    )
    client.force_login(approver)
    html = page(client, reverse("spend"))
    assert html.index(team.name) < html.index(other_team.name)
    assert "90 %" in html
    assert "close" in html


def test_oversight_pages_are_for_platform_admins(client, team_admin):
    client.force_login(team_admin)
    assert client.get(reverse("spend")).status_code == 403
    assert client.get(reverse("audit")).status_code == 403


def test_audit_filters_and_exports_csv(client, team, deployer, approver):
    from deployments.services import deployment_reject, deployment_request

    deployment = deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="audited",
        values={"model": "gemma3-1b"},
    )
    deployment_reject(deployment=deployment, by=approver, reason="No quota")
    client.force_login(approver)
    html = page(client, reverse("audit"), data={"action": "rejected"})
    assert "deployment.rejected" in html
    assert "deployment.requested" not in html
    assert "<dt>status</dt><dd>Pending approval → Rejected</dd>" in html  # not dict text
    assert "{'status'" not in html

    response = client.get(reverse("audit"), {"actor": approver.username, "format": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["action"], r["actor"], r["reason"]) for r in rows] == [
        ("deployment.rejected", approver.username, "No quota")
    ]
    assert rows[0]["before"] == '{"status": "pending_approval"}'


def test_decisions_reach_the_requester_under_a_count_that_clears_when_seen(
    client, team, deployer, approver
):
    from deployments.services import deployment_reject, deployment_request

    deployment = deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="told",
        values={"model": "gemma3-1b"},
    )
    deployment_reject(deployment=deployment, by=approver, reason="Too big for this month")
    client.force_login(deployer)
    html = page(client, reverse("deployments:list"))
    assert "Too big for this month" not in html  # not stacked above every page
    assert 'aria-label="Notifications, 1 unread"' in html

    seen = page(client, reverse("notifications"))
    assert "was rejected: Too big for this month" in seen
    assert not Notification.objects.filter(user=deployer, read_at__isnull=True).exists()
    assert 'aria-label="Notifications"' in page(client, reverse("deployments:list"))


def test_platform_admins_see_how_many_requests_wait_for_them(client, team, deployer, approver):
    from deployments.services import deployment_request

    for slug in ("wait-1", "wait-2"):
        deployment_request(
            team=team,
            requested_by=deployer,
            target="cloud-run-ollama",
            slug=slug,
            values={"model": "gemma3-27b"},
        )
    client.force_login(approver)

    html = page(client, reverse("deployments:list"))

    assert 'title="2 waiting for a decision">2</span>' in html


def test_admin_changes_to_limits_and_quotas_are_audited(client, team, approver):
    approver.is_superuser = True
    approver.save()
    client.force_login(approver)
    response = client.post(
        reverse("admin:portal_team_change", args=[team.pk]),
        {
            "name": team.name,
            "slug": team.slug,
            "monthly_budget": "500",
            "auto_approve_monthly_limit": "100",
            "default_ttl_hours": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    change = AuditEvent.objects.get(action="team.limits_changed")
    assert change.before["monthly_budget"] is None
    assert change.after["monthly_budget"] == "500.00"
    assert change.actor == approver

    client.post(
        reverse("admin:deployments_teamgpuquota_add"),
        {"team": team.pk, "gpu_type": "nvidia-l4", "max_gpus": "4"},
    )
    quota = AuditEvent.objects.get(action="quota.team_set")
    assert quota.after == {"gpu_type": "nvidia-l4", "max_gpus": 4}
