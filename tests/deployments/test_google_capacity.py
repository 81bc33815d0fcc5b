"""The project's GPU capacity where none is recorded: Google's quota, read from the sandbox's
Cloud Quotas as the preflight reads it, cached, and "unknown" (never unlimited) when the
read fails."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.choices import Status
from deployments.models import ProjectGpuCapacity, TeamGpuQuota
from deployments.services import deployment_request, google_capacity
from deployments.services.quotas import quota_check
from portal.exceptions import ValidationFailed

QUOTA_INFO = "/quotaInfos/NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion$"
# The request: Ollama in us-east4 that may scale to 100 instances of one L4 each.
WIDE = {"model": "gemma3-4b", "region": "us-east4", "max_instances": 100}
SMALL = {"model": "gemma3-4b", "region": "us-east4", "max_instances": 1}


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task", lambda name, args, countdown: None
    )


@pytest.fixture
def quota_of_three(sandbox, team):
    TeamGpuQuota.objects.create(team=team, gpu_type="nvidia-l4", max_gpus=200)
    sandbox.iam(gpu_quota={**sandbox.iam()["gpu_quota"], "us-east4": 3})
    sandbox.clear_requests()
    return sandbox


def request(team, user, values, slug="wide"):
    return deployment_request(
        team=team,
        requested_by=user,
        target="cloud-run-ollama",
        slug=slug,
        values=values,
        justification="capacity",
    )


def test_with_nothing_recorded_googles_quota_holds_the_request(quota_of_three, team, deployer):
    with pytest.raises(ValidationFailed) as refused:
        request(team, deployer, WIDE)

    assert "can hold 3 × nvidia-l4 in us-east4 (Google's quota, read" in refused.value.message
    assert len(quota_of_three.requests(QUOTA_INFO, method="GET")) == 1
    # Within Google's quota the same request goes ahead, and the value read is reused.
    small = request(team, deployer, SMALL, slug="small")  # not refused
    assert "capacity" not in small.events.first().message
    assert len(quota_of_three.requests(QUOTA_INFO, method="GET")) == 1


def test_a_recorded_capacity_overrides_googles(quota_of_three, team, deployer):
    ProjectGpuCapacity.objects.create(region="us-east4", gpu_type="nvidia-l4", max_gpus=150)

    deployment = request(team, deployer, WIDE)

    assert deployment.status in (Status.APPROVED, Status.PENDING_APPROVAL)
    check = quota_check(team=team, region="us-east4", gpu_type="nvidia-l4", requested=1)
    assert (check.project_capacity, check.capacity_source) == (150, "recorded")
    assert quota_of_three.requests(QUOTA_INFO) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        # Slower than the read's bound (google_capacity.READ_TIMEOUT_SECONDS): given up.
        {"kind": "delay_before", "seconds": 10},
    ],
    ids=["google-fails", "google-slow"],
)
def test_an_unread_capacity_is_unknown_and_waits_for_an_admin(
    quota_of_three, team, deployer, fault, client, approver
):
    quota_of_three.add_fault(method="GET", path=QUOTA_INFO, **fault)

    deployment = request(team, deployer, WIDE)

    assert deployment.status == Status.PENDING_APPROVAL
    reasons = deployment.events.first().message
    assert "us-east4 is unknown: Google's quota could not be read" in reasons
    check = quota_check(team=team, region="us-east4", gpu_type="nvidia-l4", requested=1)
    assert (check.project_capacity, check.capacity_source) == (None, "unknown")
    assert not check.capacity_known
    client.force_login(approver)
    approvals = client.get(reverse("deployments:approvals")).content.decode()
    assert "project capacity in us-east4 <strong>unknown: Google&#x27;s quota" in approvals


def test_a_failed_read_falls_back_on_the_last_value_with_its_age(quota_of_three, team, monkeypatch):
    first = quota_check(team=team, region="us-east4", gpu_type="nvidia-l4", requested=1)
    assert (first.project_capacity, first.capacity_source) == (3, "google")
    later = timezone.now() + timedelta(seconds=google_capacity.FRESH_SECONDS + 300)
    monkeypatch.setattr(google_capacity.timezone, "now", lambda: later)
    quota_of_three.add_fault(method="GET", path=QUOTA_INFO, status=503)

    stale = quota_check(team=team, region="us-east4", gpu_type="nvidia-l4", requested=1)

    assert len(quota_of_three.requests(QUOTA_INFO, method="GET")) == 2  # it did try again
    assert (stale.project_capacity, stale.capacity_source) == (3, "google")
    assert stale.capacity_read_at == first.capacity_read_at
    read = google_capacity.google_capacity(region="us-east4", gpu_type="nvidia-l4")
    assert read.age_seconds(later) >= google_capacity.FRESH_SECONDS + 300
    assert "503" in read.error
