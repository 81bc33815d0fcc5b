"""The approvals page weighs every request at once (quota_checks_of): each request's check
is the one quota_check gives it alone, the request itself excluded."""

import pytest

from deployments.choices import Status
from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from deployments.services.quotas import quota_check, quota_checks_of
from tests.factories import DeploymentFactory, TeamFactory

pytestmark = pytest.mark.django_db


def test_each_request_is_weighed_as_quota_check_weighs_it_alone():
    ml, web = TeamFactory(slug="ml"), TeamFactory(slug="web")
    for region, capacity in (("europe-west1", 6), ("us-central1", 4)):
        ProjectGpuCapacity.objects.create(region=region, gpu_type="nvidia-l4", max_gpus=capacity)
    TeamGpuQuota.objects.create(team=ml, gpu_type="nvidia-l4", max_gpus=3)
    rows = [
        DeploymentFactory(team=ml, status=Status.READY),
        DeploymentFactory(team=ml, status=Status.READY, region="us-central1"),
        DeploymentFactory(team=web, status=Status.READY),
        DeploymentFactory(team=ml, status=Status.TORN_DOWN),  # holds nothing now
        DeploymentFactory(team=ml),
        DeploymentFactory(team=web, region="us-central1"),
    ]
    pending = [rows[4], rows[5], rows[3]]

    checks = quota_checks_of(pending)

    for d in pending:
        alone = quota_check(
            team=d.team,
            region=d.region,
            gpu_type=d.gpu_type,
            requested=d.gpus_held,
            exclude=d,
        )
        assert checks[d.pk] == alone, d.slug
    # The figures themselves: ml's pending request next to ml's two live ones (3 of 3), and
    # two taken in europe-west1 besides it (the torn-down one holds none).
    mine = checks[rows[4].pk]
    assert (mine.team_used, mine.team_after, mine.fits_team) == (2, 3, True)
    assert (mine.project_used, mine.project_capacity) == (2, 6)
    theirs = checks[rows[5].pk]
    assert (theirs.team_quota, theirs.team_used, theirs.project_used) == (0, 1, 1)
