"""Every seed flow in Chromium, on the demo data as scripts/run seeds it (`seed_demo`) and
the demo sandbox project as scripts/run starts it (a proxy-only subnet in each GPU region):
`dev` requests on the form with its defaults, `root` approves where the policy asks, a
real worker rolls it out to ready, the page's Chat link streams a reply in the
playground, and the tear down leaves it torn down. Seed 004 also requests an adapter from
the base's page and talks to it, and where a test removed the region's proxy-only subnet
fails at the Gateway, saying what is still billed per hour, and tears down from there.
One test per target, the sandbox at its short delays.
Clusters and the team's Hugging Face token are set up through their services: their pages
are tested on their own."""

from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from clusters.choices import ClusterStatus
from clusters.models import Cluster
from clusters.services import cluster_create
from deployments.choices import Status
from deployments.models import Deployment
from deployments.selectors import deployment_hourly_rate
from portal.models import Team
from portal.services_hf_token import hf_token_save
from sandbox.core.project import GPU_REGIONS
from tests.playground import test_browser
from tests.playground.test_browser_pages import open_as
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import HF_TOKEN
from tests.workers.test_rollout_clusters import wait_cluster

browser = test_browser.browser  # Chromium, as the playground's browser tests start it

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]

ROLLOUT_SECONDS = 120


@dataclass(frozen=True)
class Flow:
    target: str
    # A cluster the deployment runs on: None, "autopilot" or "standard".
    cluster: str | None = None
    # The team's Hugging Face token saved first (a gated model by default).
    hf_token: bool = False


FLOWS = [
    Flow("cloud-run-ollama"),
    Flow("cloud-run-vllm", hf_token=True),
    Flow("gke-vllm", cluster="autopilot"),
    Flow("gke-inference-gateway", cluster="standard", hf_token=True),
]


@pytest.fixture
def demo(sandbox: Any) -> dict[str, Any]:
    """What scripts/run makes: seed_demo's teams, users and limits, and its sandbox project."""
    call_command("seed_demo", password="pw", stdout=StringIO())
    sandbox.iam(proxy_only_subnets=list(GPU_REGIONS))  # scripts/run's --proxy-only-subnets
    sandbox.config(operation_delay=0.05, model_load_delay=0, token_delay=0)
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    return {"team": Team.objects.get(slug="ml-research"), **users}


def _cluster(kind: str, demo: dict[str, Any]) -> Cluster:
    cluster = cluster_create(
        project="hangar-sandbox",
        location="us-central1",
        name=f"demo-{kind}",
        release_channel="REGULAR",
        teams=[demo["team"]],
        by=demo["root"],
        autopilot=kind == "autopilot",
    )
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED, timeout=90)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message
    return cluster


def _submit_request(page: Any, url: str, slug: str, choices: dict[str, str]) -> Deployment:
    """Fill the open request form's slug and the given selects, submit, land on its page."""
    page.fill("input[name=slug]", slug)
    for name, value in choices.items():
        page.select_option(f"select[name={name}]", value)
    page.click("button:has-text('Request deployment')")
    page.wait_for_load_state()
    last = page.url.rstrip("/").rsplit("/", 1)[1]
    assert last.isdigit(), page.inner_text("main")  # refused: the form says why
    pk = int(last)
    return Deployment.objects.get(pk=pk)


def _approve_if_asked(browser: Any, server: Any, deployment: Deployment, root: Any) -> None:
    """root approves on the deployment's page when the policy asked for a decision."""
    deployment.refresh_from_db()
    if deployment.status != Status.PENDING_APPROVAL:
        assert deployment.auto_approved, deployment.status
        return
    url = server.url
    page = open_as(browser, server, root)
    page.goto(f"{url}/deployments/{deployment.pk}/")
    page.fill("textarea[name=reason]", "Demo GPU spend")
    page.click(".decide-form button:has-text('Approve')")
    page.wait_for_url(f"{url}/deployments/{deployment.pk}/")
    page.context.close()


def _ready(deployment: Deployment) -> Deployment:
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=ROLLOUT_SECONDS)
    assert deployment.status == Status.READY, (
        deployment.failure_step,
        deployment.failure_message,
    )
    return deployment


def _chat_from_its_page(page: Any, url: str, deployment: Deployment) -> None:
    """The page turned Ready; its Chat link opens the playground, where a reply streams."""
    page.goto(f"{url}/deployments/{deployment.pk}/")
    page.click("a:has-text('Chat in the playground')")
    page.wait_for_selector("#pg-model option", state="attached")
    page.fill("#pg-prompt", "Why is the sky blue?")
    page.click("#pg-send")
    page.wait_for_function(
        "() => document.querySelector('.pg-assistant .pg-body')?.textContent.includes('heard')",
        timeout=30_000,
    )
    page.wait_for_selector(".pg-assistant .pg-stats")


def _tear_down(page: Any, url: str, deployment: Deployment) -> None:
    page.goto(f"{url}/deployments/{deployment.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Tear down')")
    deployment = wait_for_status(
        deployment, Status.TORN_DOWN, Status.FAILED, timeout=ROLLOUT_SECONDS
    )
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message


@pytest.mark.parametrize("flow", FLOWS, ids=[f.target for f in FLOWS])
def test_a_seed_flow_from_request_to_chat_to_tear_down(
    flow: Flow, browser: Any, portal_server: Any, demo: dict[str, Any], worker: Any
) -> None:
    url = portal_server.url
    if flow.hf_token:
        hf_token_save(team=demo["team"], token=HF_TOKEN, by=demo["ada"])
    choices = {}
    if flow.cluster:
        choices["cluster"] = str(_cluster(flow.cluster, demo).pk)

    page = open_as(browser, portal_server, demo["dev"])
    page.goto(f"{url}/deployments/new/?target={flow.target}")
    deployment = _submit_request(page, url, "demo", choices)
    assert deployment.target == flow.target and deployment.team == demo["team"]
    _approve_if_asked(browser, portal_server, deployment, demo["root"])
    deployment = _ready(deployment)
    _chat_from_its_page(page, url, deployment)

    if flow.target == "gke-inference-gateway":
        # An adapter requested from the base's page, then talked to on its own page.
        page.goto(f"{url}/deployments/{deployment.pk}/")
        page.click("a:has-text('Request an adapter')")
        assert page.input_value("select[name=base]") == str(deployment.pk)
        # One Name: "demo-sql" (_submit_request) is its served name too.
        page.fill("input[name=source]", "someone/llama3.1-sql-lora-r8")
        adapter = _submit_request(page, url, "demo-sql", {})
        assert adapter.target == "gke-inference-gateway-adapter"
        _approve_if_asked(browser, portal_server, adapter, demo["root"])
        adapter = _ready(adapter)
        _chat_from_its_page(page, url, adapter)
        # The base lists it; tearing the base down tears the adapter down first.
        page.goto(f"{url}/deployments/{deployment.pk}/")
        assert page.locator(".dependents li:has-text('demo-sql')").count() == 1

    _tear_down(page, url, deployment)


def test_seed_004_where_the_subnet_was_removed_fails_says_what_is_billed_and_tears_down(
    browser: Any, portal_server: Any, demo: dict[str, Any], sandbox: Any, worker: Any
) -> None:
    # Someone deleted us-central1's proxy-only subnet: the sandbox refuses the Gateway.
    sandbox.iam(proxy_only_subnets=[r for r in GPU_REGIONS if r != "us-central1"])
    url = portal_server.url
    hf_token_save(team=demo["team"], token=HF_TOKEN, by=demo["ada"])
    cluster = _cluster("standard", demo)
    page = open_as(browser, portal_server, demo["dev"])
    page.goto(f"{url}/deployments/new/?target=gke-inference-gateway")
    deployment = _submit_request(page, url, "demo", {"cluster": str(cluster.pk)})
    _approve_if_asked(browser, portal_server, deployment, demo["root"])
    deployment = wait_for_status(deployment, Status.FAILED, Status.READY, timeout=ROLLOUT_SECONDS)
    assert deployment.status == Status.FAILED
    assert "proxy-only subnetwork is required" in deployment.failure_message

    # Its GPU node pool is still there and billed: the page says so, and what it costs.
    page.goto(f"{url}/deployments/{deployment.pk}/")
    billed = page.text_content(".failure .failure-billed") or ""
    rate = deployment_hourly_rate(deployment=deployment)
    assert f"about ${rate:,.2f} per hour" in billed and "node pool" in billed, billed
    assert page.is_visible("button:has-text('Retry from the failed step')")
    _tear_down(page, url, deployment)
