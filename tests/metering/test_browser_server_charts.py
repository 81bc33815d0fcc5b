"""A person's view: Chromium keeps a vLLM deployment's page open while the playground
streams replies, and sees its model-server charts fill as the beat task samples."""

import threading
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from deployments.choices import Status
from metering.model_servers import servers_sample
from metering.models import ServerSample
from tests.factories import DeploymentFactory
from tests.playground.conftest import (  # noqa: F401
    build_client,
    credentials,
    portal_server,
    read_events,
    registry_client,
    run_client,
    sign_in,
)
from tests.playground.test_browser import browser  # noqa: F401
from tests.sandbox.conftest import SERVICE_ACCOUNT
from tests.sandbox.helpers import PARENT, wait
from tests.sandbox.test_vllm_apis import vllm_service

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
MODEL = "google/gemma-4-E2B-it"


def _stream(http: Any, server: Any, deployment: Any, stop: threading.Event) -> None:
    body = {
        "deployment": deployment.pk,
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    while not stop.is_set():
        with http.post(
            server.url + "/playground/api/chat", json=body, stream=True, timeout=20
        ) as r:
            read_events(r)


def _sample(stop: threading.Event) -> None:
    # The beat task, ticking fast; its own DB connection, closed when done.
    try:
        while not stop.is_set():
            servers_sample(now=timezone.now())
            stop.wait(1.0)
    finally:
        connections.close_all()


def test_the_charts_fill_while_the_playground_streams(
    browser,  # noqa: F811
    portal_server,  # noqa: F811
    run_client,  # noqa: F811
    sandbox,
    team,
    deployer,
    settings,
):
    sandbox.config(model_load_delay=0, token_delay=0.02)
    service = wait(
        run_client.create_service(parent=PARENT, service=vllm_service(), service_id="charted")
    )
    policy = run_client.get_iam_policy(request={"resource": service.name})
    policy.bindings.add(role="roles/run.invoker", members=[f"serviceAccount:{SERVICE_ACCOUNT}"])
    run_client.set_iam_policy(request={"resource": service.name, "policy": policy})
    deployment: Any = DeploymentFactory(
        team=team,
        status=Status.READY,
        endpoint_url=service.uri,
        target="cloud-run-vllm",
        model="gemma-4-e2b-it",
    )
    http = sign_in(portal_server, deployer)
    page = browser.new_page()
    page.goto(portal_server.url + "/login/")
    page.fill("input[name=username]", "dev")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.goto(f"{portal_server.url}/deployments/{deployment.pk}/")
    assert "No samples yet" in page.text_content("#server-metrics")

    stop = threading.Event()
    workers = [
        threading.Thread(target=_stream, args=(http, portal_server, deployment, stop)),
        threading.Thread(target=_sample, args=(stop,)),
    ]
    for worker in workers:
        worker.start()
    try:
        # The page re-reads the charts (METERING_CHART_REFRESH_SECONDS, 10 s by default).
        page.wait_for_function(
            """() => {
              const c = document.querySelector('canvas[data-server-chart="tokens_per_second"]');
              return c && Number(c.dataset.points) >= 3 && c.dataset.drawn === '1';
            }""",
            timeout=60_000,
        )
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    points = ServerSample.objects.filter(deployment=deployment).count()
    assert points >= 3
    assert page.locator("canvas[data-server-chart='ttft']").count() == 1
