"""The HTML pages: the request form, the detail page with its live timeline, approvals.

Approving queues the rollout on commit (deployments.services.rollout.rollout_schedule). These
tests capture on-commit callbacks without running them
(django_capture_on_commit_callbacks(execute=False)), so no broker or worker is needed
and the queued rollout can still be counted.
"""

from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from deployments.choices import Phase, Status
from deployments.forms import request_form_class
from deployments.models import Deployment
from deployments.services.requests import deployment_request
from deployments.services.transitions import deployment_transition
from portal.models import Team
from runbook.models import Outcome, StepRun


def queued_rollouts(callbacks):
    """The on-commit callbacks that queue the rollout task (others send emails)."""
    return [c for c in callbacks if "workers.tasks.advance" in getattr(c, "args", ())]


pytestmark = pytest.mark.django_db

VALID = {
    "target": "cloud-run-ollama",
    "model": "gemma3-4b",
    "region": "europe-west1",
    "gpu_type": "nvidia-l4",
    "gpu_count": 1,
    "cpu": 8,
    "memory_gib": 32,
    "ollama_parallel": 4,
    "concurrency": 4,
    "min_instances": 0,
    "max_instances": 1,
    "timeout_seconds": 600,
}


# team ("ML Research", with deployer "dev", member "mia"), other_team with outsider "pat",
# and approver "root" (a staff user holding deployments.approve_deployment) come from
# tests/conftest.py.


@pytest.fixture
def deployment(team: Team, deployer: Any) -> Deployment:
    return deployment_request(
        team=team,
        requested_by=deployer,
        target="cloud-run-ollama",
        slug="ollama-gemma",
        values={k: v for k, v in VALID.items() if k != "target"},
    )


def _post_new(client: Any, team: Team, **overrides: Any) -> Any:
    data = {**VALID, "team": team.pk, "slug": "ollama-gemma", **overrides}
    return client.post(reverse("deployments:new"), data)


# --- the request form ---


def test_pages_need_a_signed_in_user(client: Any, deployment: Deployment) -> None:
    for url in (
        reverse("deployments:list"),
        reverse("deployments:new"),
        reverse("deployments:detail", args=[deployment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_form_shows_the_seed_defaults(client: Any, deployer: Any, team: Team) -> None:
    client.force_login(deployer)
    response = client.get(reverse("deployments:new"))

    assert response.status_code == 200
    form = response.context["form"]
    # Seed 000's `gcloud run deploy` flags.
    assert {name: form[name].value() for name in VALID} == VALID
    html = response.content.decode()
    assert 'name="concurrency" value="4"' in html
    assert "OLLAMA_NUM_PARALLEL" in html  # the help texts explain the flags
    assert "gemma3:27b" in html  # model labels show the Ollama tag
    assert list(form.fields["team"].queryset) == [team]


def test_form_offers_only_teams_where_the_user_may_deploy(client: Any, member: Any) -> None:
    client.force_login(member)

    response = client.get(reverse("deployments:new"))

    assert list(response.context["form"].fields["team"].queryset) == []
    assert "cannot request a deployment" in response.content.decode()


def test_a_model_too_big_for_the_gpu_is_reported_next_to_the_model(
    client: Any, deployer: Any, team: Team
) -> None:
    client.force_login(deployer)

    response = _post_new(client, team, model="gemma3-27b", ollama_parallel=8, concurrency=8)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["model"]
    assert errors["model"][0].startswith(
        "gemma3:27b with 8 parallel slots needs about 29.5 GiB of GPU memory; "
        "an NVIDIA L4 (24 GB) has 24 GiB."
    )
    html = response.content.decode()
    model_field = html[html.index('class="field field-model"') :]
    model_field = model_field[: model_field.index("</div>")]
    assert "needs about 29.5 GiB" in model_field
    assert not Deployment.objects.exists()


def test_concurrency_above_twice_the_slots_is_reported_next_to_concurrency(
    client: Any, deployer: Any, team: Team
) -> None:
    client.force_login(deployer)

    response = _post_new(client, team, concurrency=9)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["concurrency"]
    assert errors["concurrency"][0].startswith(
        "Concurrency 9 is more than twice the 4 Ollama parallel slots."
    )


def test_a_service_error_on_an_unknown_field_becomes_a_form_error(
    deployer: Any, team: Team
) -> None:
    form = request_form_class("cloud-run-ollama")(
        {**VALID, "team": team.pk, "slug": "x"}, user=deployer
    )
    assert form.is_valid()

    form.add_service_errors({"quota": ["Team quota is 2 GPUs."]}, "Over quota.")

    assert form.non_field_errors() == ["Team quota is 2 GPUs."]


def test_a_taken_name_is_reported_next_to_the_name(
    client: Any, deployer: Any, team: Team, deployment: Deployment
) -> None:
    client.force_login(deployer)

    response = _post_new(client, team, slug=deployment.slug)

    assert response.status_code == 400
    assert "already called ollama-gemma" in response.context["form"].errors["slug"][0]


def test_a_valid_request_creates_a_pending_deployment_and_shows_its_plan(
    client: Any, deployer: Any, team: Team
) -> None:
    client.force_login(deployer)

    response = _post_new(client, team, slug="gemma-search")

    deployment = Deployment.objects.get()
    assert deployment.status == Status.PENDING_APPROVAL
    assert deployment.requested_by == deployer
    assert (deployment.team, deployment.model, deployment.spec["concurrency"]) == (
        team,
        "gemma3-4b",
        4,
    )
    assert response.status_code == 302
    assert response.url == reverse("deployments:detail", args=[deployment.pk])

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "gcloud run deploy gemma-search" in html
    # METHOD path of the deploy step
    assert (
        "PATCH /v2/projects/hangar-sandbox/locations/europe-west1/services/gemma-search"
        in strip_tags(html)
    )
    assert "Pending approval" in html
    assert "Withdraw request" in html  # a deployer may withdraw it
    assert "Approve" not in html  # only platform admins decide
    assert 'hx-trigger="every 5s"' in html  # nothing rolls yet; it watches for the decision


# --- visibility ---


def test_another_teams_deployment_is_not_found(
    client: Any, outsider: Any, deployment: Deployment
) -> None:
    client.force_login(outsider)

    assert client.get(reverse("deployments:detail", args=[deployment.pk])).status_code == 404
    assert client.get(reverse("deployments:timeline", args=[deployment.pk])).status_code == 404
    assert client.post(reverse("deployments:tear_down", args=[deployment.pk])).status_code == 404
    assert "ollama-gemma" not in client.get(reverse("deployments:list")).content.decode()
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


def test_the_list_shows_the_users_deployments(
    client: Any, deployer: Any, deployment: Deployment
) -> None:
    client.force_login(deployer)

    html = client.get(reverse("deployments:list")).content.decode()

    assert reverse("deployments:detail", args=[deployment.pk]) in html
    assert "Pending approval" in html
    assert "Approvals" not in html  # the nav link is for platform admins


# --- approvals ---


def test_approvals_are_forbidden_to_non_admins(client: Any, deployer: Any) -> None:
    client.force_login(deployer)

    assert client.get(reverse("deployments:approvals")).status_code == 403


def test_approvals_list_pending_requests_with_their_plan(
    client: Any, approver: Any, deployment: Deployment
) -> None:
    client.force_login(approver)

    response = client.get(reverse("deployments:approvals"))

    html = response.content.decode()
    assert response.status_code == 200
    assert [item["deployment"] for item in response.context["pending"]] == [deployment]
    assert "dev for team ML Research" in html
    assert "europe-west1" in html
    # readable names, each target's own fields
    assert "<dt>Model</dt><dd>Gemma 3 4B (gemma3:4b)</dd>" in html
    assert "<dt>GPU type</dt><dd>NVIDIA L4 (24 GB)</dd>" in html
    assert "<dt>Ollama parallel slots</dt><dd>4</dd>" in html
    assert "gcloud run deploy ollama-gemma" in html
    assert reverse("deployments:approve", args=[deployment.pk]) in html
    assert reverse("deployments:reject", args=[deployment.pk]) in html


def test_approve_moves_the_request_to_approved_and_queues_the_rollout(
    client: Any,
    approver: Any,
    deployment: Deployment,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(approver)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("deployments:approve", args=[deployment.pk]), {"reason": "Fits the budget"}
        )

    assert response.status_code == 302
    assert response.url == reverse("deployments:detail", args=[deployment.pk])
    deployment.refresh_from_db()
    assert deployment.status == Status.APPROVED
    assert deployment.decided_by == approver
    assert deployment.decision_reason == "Fits the budget"
    assert len(queued_rollouts(callbacks)) == 1  # sent to the worker once committed

    page = client.get(response.url)
    assert "Approved ollama-gemma; the rollout is queued." in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()  # approved is rolling


def test_reject_without_a_reason_shows_the_services_message(
    client: Any, approver: Any, deployment: Deployment
) -> None:
    client.force_login(approver)

    response = client.post(reverse("deployments:reject", args=[deployment.pk]), follow=True)

    assert "Say why the request is rejected." in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


def test_a_deployer_cannot_approve(client: Any, deployer: Any, deployment: Deployment) -> None:
    client.force_login(deployer)

    response = client.post(reverse("deployments:approve", args=[deployment.pk]), follow=True)

    assert "Only platform admins can approve" in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == Status.PENDING_APPROVAL


def test_action_views_refuse_get(client: Any, deployer: Any, deployment: Deployment) -> None:
    client.force_login(deployer)

    assert client.get(reverse("deployments:tear_down", args=[deployment.pk])).status_code == 405


# --- the live timeline ---


def _roll_to_deploying(deployment: Deployment, admin: Any) -> Deployment:
    deployment = deployment_transition(deployment=deployment, to=Status.APPROVED, actor=admin)
    return deployment_transition(deployment=deployment, to=Status.DEPLOYING, message="Attempt 1")


def test_the_timeline_fragment_renders_events_and_keeps_polling_while_rolling(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    deployment = _roll_to_deploying(deployment, approver)
    StepRun.objects.create(
        owner_kind="deployment",
        owner_id=deployment.pk,
        phase=Phase.DEPLOY,
        attempt=1,
        step="build_image",
        outcome=Outcome.WAITING,
        operation="projects/hangar-sandbox/locations/europe-west1/operations/build-42",
        retries=2,
    )
    client.force_login(deployer)

    response = client.get(reverse("deployments:timeline", args=[deployment.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment, not a page
    assert 'hx-trigger="every 2s"' in html
    assert "Pending approval" in html
    assert "Deploying" in html
    assert "by root" in html
    assert "Build the image with gemma3:4b baked in" in html
    assert "Waiting on Google" in html
    assert "step 2 of 6" in html  # build_image, second of the deploy plan
    assert "operations/build-42" in html
    assert "Retries" in html


def test_the_timeline_fragment_stops_polling_and_shows_the_failure(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    deployment = _roll_to_deploying(deployment, approver)
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.FAILED,
        message="deploy_service failed",
        changes={
            "failure_step": "deploy_service",
            "failure_message": "Quota exceeded for total allowable nvidia-l4 GPUs.",
            "failure_hint": "Request more L4 quota in europe-west1, or lower max instances.",
        },
    )
    client.force_login(deployer)

    html = client.get(reverse("deployments:timeline", args=[deployment.pk])).content.decode()

    assert "hx-trigger" not in html
    assert "Failed" in html
    assert "Quota exceeded for total allowable nvidia-l4 GPUs." in html
    assert "What to do about it:" in html
    assert "lower max instances" in html
    assert reverse("deployments:retry", args=[deployment.pk]) in html
    assert reverse("deployments:tear_down", args=[deployment.pk]) in html


def test_the_ready_page_leads_with_chat_then_snippets_then_the_private_url(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    deployment = _roll_to_deploying(deployment, approver)
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.READY,
        changes={"endpoint_url": "https://ollama-gemma-abc123-ew.a.run.app"},
    )
    client.force_login(deployer)

    html = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()

    chat = html.index("Chat in the playground")
    passthrough = f"http://testserver/api/v1/deployments/{deployment.pk}/openai/v1"
    curl = html.index(f"curl {passthrough}/chat/completions")
    python = html.index(f'OpenAI(base_url="{passthrough}"')
    private = html.index("https://ollama-gemma-abc123-ew.a.run.app")
    assert chat < curl < python < private
    assert f'href="/playground/?deployment={deployment.pk}"' in html
    assert "Bearer $HANGAR_TOKEN" in html and "&quot;model&quot;: &quot;gemma3:4b&quot;" in html
    assert "/timeline/" not in html  # settled: the live part stops polling
    assert "Retry" not in html


def test_a_pending_request_page_watches_for_the_decision(
    client: Any, deployer: Any, deployment: Deployment
) -> None:
    client.force_login(deployer)

    html = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()

    assert 'hx-trigger="every 5s"' in html


def test_a_deployer_withdraws_a_pending_request(
    client: Any, deployer: Any, deployment: Deployment
) -> None:
    client.force_login(deployer)

    response = client.post(reverse("deployments:tear_down", args=[deployment.pk]), follow=True)

    deployment.refresh_from_db()
    assert deployment.status == Status.TORN_DOWN
    assert "Tear down of ollama-gemma requested." in response.content.decode()


def test_retry_resumes_a_failed_rollout(
    client: Any,
    deployer: Any,
    approver: Any,
    deployment: Deployment,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deployment = _roll_to_deploying(deployment, approver)
    deployment = deployment_transition(
        deployment=deployment, to=Status.FAILED, changes={"failure_step": "build_image"}
    )
    client.force_login(deployer)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("deployments:retry", args=[deployment.pk]))

    deployment.refresh_from_db()
    assert deployment.status == Status.DEPLOYING
    assert len(queued_rollouts(callbacks)) == 1


# --- edit and request again ---


def test_a_failed_request_opens_the_form_with_its_values_and_a_free_name(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    deployment = _roll_to_deploying(deployment, approver)
    deployment = deployment_transition(
        deployment=deployment,
        to=Status.FAILED,
        changes={"failure_step": "deploy_service", "failure_message": "Quota exceeded."},
    )
    client.force_login(deployer)
    detail = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    edit_url = f"{reverse('deployments:new')}?from={deployment.pk}"
    assert edit_url in detail

    response = client.get(edit_url)

    form = response.context["form"]
    assert {name: form[name].value() for name in VALID} == VALID
    assert form["slug"].value() == "ollama-gemma-2"  # the failed one still holds its name
    assert "Quota exceeded." in response.content.decode()

    created = client.post(
        reverse("deployments:new"),
        {**VALID, "team": deployment.team.pk, "slug": "ollama-gemma-2", "max_instances": 2},
    )
    assert created.status_code == 302
    again = Deployment.objects.get(slug="ollama-gemma-2")
    assert again.pk != deployment.pk and again.spec["max_instances"] == 2
    deployment.refresh_from_db()
    assert deployment.status == Status.FAILED  # the old one is left as it was


def test_a_rejected_request_keeps_its_name_when_edited(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    deployment_transition(deployment=deployment, to=Status.REJECTED, actor=approver)
    client.force_login(deployer)

    response = client.get(f"{reverse('deployments:new')}?from={deployment.pk}")

    assert response.context["form"]["slug"].value() == "ollama-gemma"


def test_editing_a_request_one_cannot_see_is_404(
    client: Any, outsider: Any, deployment: Deployment
) -> None:
    client.force_login(outsider)

    for raw in (str(deployment.pk), "abc", "9" * 40):
        assert client.get(f"{reverse('deployments:new')}?from={raw}").status_code == 404


def test_the_forms_say_what_the_defaults_are_without_seed_jargon(
    client: Any, deployer: Any
) -> None:
    client.force_login(deployer)

    for target in ("cloud-run-ollama", "cloud-run-vllm"):
        html = client.get(reverse("deployments:new"), {"target": target}).content.decode()
        assert "seed" not in html.lower()
        assert "By default:" in html
        assert 'placeholder="gemma-demo"' not in html  # no placeholder passing for a value


def test_the_timeline_says_how_long_a_step_usually_takes(
    client: Any, deployer: Any, approver: Any, deployment: Deployment
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import DeploymentFactory

    now = timezone.now()
    for seconds in (40, 60, 300):  # earlier rollouts of the same target
        earlier: Any = DeploymentFactory(status=Status.READY)
        StepRun.objects.create(
            owner_kind="deployment",
            owner_id=earlier.pk,
            phase=Phase.DEPLOY,
            step="build_image",
            outcome=Outcome.SUCCEEDED,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    deployment = _roll_to_deploying(deployment, approver)
    StepRun.objects.create(
        owner_kind="deployment",
        owner_id=deployment.pk,
        phase=Phase.DEPLOY,
        attempt=1,
        step="build_image",
        outcome=Outcome.RUNNING,
        started_at=now,
    )
    client.force_login(deployer)

    html = client.get(reverse("deployments:timeline", args=[deployment.pk])).content.decode()

    assert "<dt>Usually</dt><dd>about 1 min 0 s</dd>" in html  # the median of 40, 60, 300 s
