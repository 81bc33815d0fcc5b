"""What a platform admin administers from the portal: clusters, quotas, approval tokens in the
portal's own pages, price tables and teams in the Django admin, all in the navigation, and
the demo admin `root` (as seed_demo makes it) reaches every one of them."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from portal.models import AuditEvent, Team

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "demo-password-1"


@pytest.fixture
def demo_root(client):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert client.login(username="root", password=DEMO_PASSWORD)
    return client


@pytest.fixture
def cluster(db):
    made = Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="shared",
        status=ClusterStatus.READY,
    )
    made.events.create(to_status=ClusterStatus.READY, message="Registered for the demo")
    return made


def test_the_demo_admin_reaches_every_administration_page(demo_root, cluster):
    team = Team.objects.get(slug="ml-research")
    pages = [
        reverse("clusters:list"),
        reverse("clusters:new"),
        reverse("clusters:detail", args=[cluster.pk]),
        reverse("deployments:quotas"),
        reverse("approval-tokens"),
        reverse("admin:index"),
        reverse("admin:portal_team_changelist"),
        reverse("admin:portal_team_change", args=[team.pk]),
        reverse("admin:portal_team_add"),
        reverse("admin:deployments_teamgpuquota_changelist"),
        reverse("admin:deployments_teamgpuquota_add"),
        reverse("admin:deployments_projectgpucapacity_changelist"),
        reverse("admin:deployments_projectgpucapacity_add"),
        reverse("admin:deployments_pricetable_changelist"),
        reverse("admin:deployments_pricetable_add"),
        reverse("admin:clusters_cluster_changelist"),
    ]
    reached = {page: demo_root.get(page).status_code for page in pages}
    assert reached == dict.fromkeys(pages, 200)


def test_every_administration_page_is_in_the_navigation(demo_root):
    html = demo_root.get(reverse("deployments:list")).content.decode()
    for page in ("clusters:list", "deployments:quotas", "approval-tokens", "admin:index"):
        assert f'href="{reverse(page)}"' in html, page


def test_a_deployer_sees_no_administration_in_the_navigation(client, deployer):
    client.force_login(deployer)
    html = client.get(reverse("deployments:list")).content.decode()
    for page in ("clusters:list", "deployments:quotas", "approval-tokens", "admin:index"):
        assert f'href="{reverse(page)}"' not in html, page


def test_a_deployer_without_tokens_is_told_whom_to_ask(client, team, deployer, team_admin):
    client.force_login(deployer)
    html = client.get(reverse("team-detail", args=[team.slug])).content.decode()
    assert "ask your team admin for one" in html
    assert f"ask {team_admin.get_username()} for one" in html
    assert 'name="expires_at"' not in html  # no form they could not use


def test_the_cluster_form_fills_in_hangars_project_and_offers_the_regions(demo_root):
    html = demo_root.get(reverse("clusters:new")).content.decode()
    assert 'name="project" value="hangar-sandbox"' in html
    assert 'name="location" value="us-central1"' in html
    assert 'list="cluster-regions"' in html
    for region in ("europe-west1", "us-east4"):
        assert f'<option value="{region}">' in html


def new_cluster(client, **fields):
    return client.post(
        reverse("clusters:new"),
        {
            "mode": "register",
            "project": "hangar-sandbox",
            "location": "us-central1",
            "name": "shared",
            "release_channel": "",
            "reason": "for the GKE targets",
            **fields,
        },
    )


def test_a_cluster_in_another_project_is_refused_on_the_field(demo_root):
    response = new_cluster(demo_root, project="someone-else")

    assert response.status_code == 400
    assert response.context["form"].errors["project"] == [
        "Hangar deploys into hangar-sandbox only (its weights bucket, Google account and "
        "Workload Identity are there): register or create a cluster of hangar-sandbox, not "
        "of someone-else."
    ]
    assert not Cluster.objects.exists()


def test_a_cluster_registered_from_the_portal_shows_its_timeline(demo_root):
    team = Team.objects.get(slug="ml-research")
    response = new_cluster(demo_root, teams=[team.pk])

    cluster = Cluster.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("clusters:detail", args=[cluster.pk])
    assert (cluster.status, list(cluster.teams.all())) == (ClusterStatus.REGISTERING, [team])
    html = demo_root.get(response["Location"]).content.decode()
    assert "for the GKE targets" in html  # the first event of its timeline
    assert "Registering" in html


def test_quotas_are_set_from_the_portal_and_audited(demo_root):
    team = Team.objects.get(slug="search")
    response = demo_root.post(
        reverse("deployments:quotas"),
        {
            "form": "team",
            "team-team": team.pk,
            "team-gpu_type": "nvidia-h100-80gb",
            "team-max_gpus": "8",
            "team-reason": "seed 003",
        },
    )
    assert response.status_code == 302
    assert TeamGpuQuota.objects.get(team=team, gpu_type="nvidia-h100-80gb").max_gpus == 8
    assert AuditEvent.objects.get(action="quota.team_set", team=team, reason="seed 003")

    response = demo_root.post(
        reverse("deployments:quotas"),
        {"form": "project", "project-region": "us-east4", "project-gpu_type": "nvidia-l4"},
    )
    assert response.status_code == 400  # the GPUs are missing
    assert "max_gpus" in response.context["project_form"].errors
    assert not ProjectGpuCapacity.objects.filter(region="us-east4").exists()


def test_the_quota_page_shows_googles_quota_where_none_is_recorded(demo_root):
    html = demo_root.get(reverse("deployments:quotas")).content.decode()
    row = html.split("<td>us-east4</td>", 1)[1].split("</tr>", 1)[0]
    assert '<span class="muted">none</span>' in row
    assert "3 GPUs" in row  # google_gpu_quota in tests/conftest.py: the sandbox's default


def test_model_permissions_without_the_platform_admin_role_open_no_admin_page(client, db):
    """PlatformAdminOnly: the portal's admin pages follow portal/access.py, not Django's
    model permissions; a staff user granted every change permission still sees none."""
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    staff = UserFactory(username="staff", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["portal", "deployments"]).exclude(
            codename="approve_deployment"
        )
    )
    client.force_login(staff)
    team = Team.objects.create(slug="t", name="T")
    for page in (
        reverse("admin:portal_team_changelist"),
        reverse("admin:portal_team_change", args=[team.pk]),
        reverse("admin:portal_auditevent_changelist"),
        reverse("admin:deployments_pricetable_changelist"),
    ):
        assert client.get(page).status_code == 403, page
