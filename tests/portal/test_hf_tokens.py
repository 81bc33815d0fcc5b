"""The team's Hugging Face token page and service: Secret Manager holds the token, the
database and the page only know whether one is set."""

import pytest
from django.urls import reverse

from portal.models import TeamHfSecret
from portal.selectors import hf_token_status
from portal.services_hf_token import hf_token_save

pytestmark = pytest.mark.django_db

TOKEN = "hf_PageTokenAbcdefghijklmnop0123"


def test_a_team_admin_saves_a_token_and_the_page_says_only_that_it_is_set(
    client, team, team_admin, sandbox
):
    client.force_login(team_admin)
    url = reverse("team-hf-token", kwargs={"slug": team.slug})
    assert "No token is set" in client.get(url).content.decode()
    response = client.post(url, {"token": TOKEN}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "A token is set" in page
    assert TOKEN not in page
    record = TeamHfSecret.objects.get(team=team)
    assert record.secret_name == "projects/hangar-sandbox/secrets/hangar-hf-ml-research"
    assert record.latest_version.endswith("/versions/1")
    [secret] = sandbox.state()["secrets"]
    assert secret["secret"]["labels"] == {"managed-by": "hangar", "hangar-team": "ml-research"}
    # Cloud Build's identity may read it, so builds can download gated weights.
    members = [m for b in secret["iamPolicy"]["bindings"] for m in b["members"]]
    assert members == ["serviceAccount:hangar-builder@hangar-sandbox.iam.gserviceaccount.com"]


def test_saving_again_adds_a_version(team, team_admin, sandbox):
    hf_token_save(team=team, token=TOKEN, by=team_admin)
    second = hf_token_save(team=team, token=TOKEN[:-1] + "9", by=team_admin)
    assert second.latest_version.endswith("/versions/2")
    [secret] = sandbox.state()["secrets"]
    assert len(secret["versions"]) == 2
    assert hf_token_status(team=team) == second


def test_only_a_team_admin_may_save(client, team, deployer, sandbox):
    client.force_login(deployer)
    url = reverse("team-hf-token", kwargs={"slug": team.slug})
    page = client.get(url).content.decode()
    assert "Only a team admin" in page
    response = client.post(url, {"token": TOKEN})
    assert response.status_code == 400
    assert not TeamHfSecret.objects.exists()
    assert sandbox.state()["secrets"] == []


def test_something_that_is_not_a_token_is_refused_without_being_repeated(
    client, team, team_admin, sandbox
):
    client.force_login(team_admin)
    url = reverse("team-hf-token", kwargs={"slug": team.slug})
    typed = "my-password-123"
    response = client.post(url, {"token": typed})
    assert response.status_code == 400
    assert typed not in response.content.decode()
    assert sandbox.state()["secrets"] == []


def test_outsiders_do_not_see_the_page(client, team, outsider):
    client.force_login(outsider)
    assert client.get(reverse("team-hf-token", kwargs={"slug": team.slug})).status_code == 404


def test_a_gated_model_needs_the_team_token(api, team, deployer, team_admin, sandbox):
    api.force_authenticate(deployer)
    body = {
        "team": team.slug,
        "slug": "gated",
        "target": "cloud-run-vllm",
        "model": "gemma-3-1b-it",
    }
    refused = api.post("/api/v1/deployments/", body, format="json")
    assert refused.status_code == 400, refused.json()
    assert "gated" in refused.json()["error"]["fields"]["model"][0]
    ungated = api.post(
        "/api/v1/deployments/", {**body, "slug": "open", "model": "gemma-4-e2b-it"}, format="json"
    )
    assert ungated.status_code == 201, ungated.json()
    hf_token_save(team=team, token=TOKEN, by=team_admin)
    assert api.post("/api/v1/deployments/", body, format="json").status_code == 201


def test_saving_a_token_is_audited_without_the_token(team, team_admin, sandbox):
    from portal.models import AuditEvent

    hf_token_save(team=team, token=TOKEN, by=team_admin)
    event = AuditEvent.objects.get(action="hf_token.saved")
    assert (event.actor, event.team) == (team_admin, team)
    assert event.after["version"].endswith("/versions/1")
    assert TOKEN not in str(event.after) + str(event.before) + event.reason + event.object_repr


def test_a_team_admin_removes_the_token_on_the_record(client, team, team_admin, sandbox):
    from portal.models import AuditEvent

    hf_token_save(team=team, token=TOKEN, by=team_admin)
    client.force_login(team_admin)
    url = reverse("team-hf-token", kwargs={"slug": team.slug})
    response = client.post(url, {"remove": "1"}, follow=True)
    assert "No token is set" in response.content.decode()
    assert not TeamHfSecret.objects.exists()
    assert sandbox.state()["secrets"] == []
    event = AuditEvent.objects.get(action="hf_token.removed")
    assert (event.actor, event.team) == (team_admin, team)
    assert TOKEN not in str(event.before) + str(event.after)


def test_only_a_team_admin_may_remove(client, team, team_admin, deployer, sandbox):
    hf_token_save(team=team, token=TOKEN, by=team_admin)
    client.force_login(deployer)
    url = reverse("team-hf-token", kwargs={"slug": team.slug})
    response = client.post(url, {"remove": "1"}, follow=True)
    assert "You need the Team admin role" in response.content.decode()
    assert TeamHfSecret.objects.exists()
    assert len(sandbox.state()["secrets"]) == 1
