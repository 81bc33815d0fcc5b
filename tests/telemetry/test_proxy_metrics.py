"""The proxy's metrics, written by the uvicorn server's process and read by /metrics in this
one (multiprocess mode): time to first token per stream, streams open, errors by the
endpoint's status."""

from typing import Any

import pytest

from deployments.choices import Status
from tests.factories import DeploymentFactory
from tests.playground.conftest import (  # noqa: F401
    build_client,
    credentials,
    endpoint,
    portal_server,
    read_events,
    registry_client,
    run_client,
    sign_in,
)
from tests.telemetry.test_metrics_endpoint import TOKEN, scrape

pytestmark = pytest.mark.django_db(transaction=True)
TTFT = ("hangar_proxy_time_to_first_token_seconds_count", ())
OPEN = ("hangar_proxy_streams_open", ())


def chat(http: Any, server: Any, deployment: Any) -> list[tuple[str, Any]]:
    body = {"deployment": deployment.pk, "messages": [{"role": "user", "content": "Hi"}]}
    with http.post(server.url + "/playground/api/chat", json=body, stream=True, timeout=20) as r:
        assert r.status_code == 200
        return read_events(r)


def test_a_stream_is_timed_and_an_endpoints_error_counted_by_its_status(
    client,
    settings,
    portal_server,  # noqa: F811
    endpoint,  # noqa: F811
    deployer,
    team,
):
    settings.METRICS = {"TOKEN": TOKEN}
    before = scrape(client)
    http = sign_in(portal_server, deployer)

    assert chat(http, portal_server, endpoint)[-1][0] == "done"
    gone = DeploymentFactory(
        team=team,
        slug="gone",
        status=Status.READY,
        endpoint_url=endpoint.endpoint_url.rsplit("/", 1)[0] + "/no-such-service",
        target="cloud-run-ollama",
    )
    assert chat(http, portal_server, gone)[-1][0] == "error"

    after = scrape(client)
    assert after[TTFT] == before.get(TTFT, 0) + 1
    assert after[OPEN] == before.get(OPEN, 0)  # both streams closed again
    key = ("hangar_proxy_upstream_errors_total", (("upstream_status", "404"),))
    assert after[key] == before.get(key, 0) + 1
