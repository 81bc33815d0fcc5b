"""Workers never wait on a model: a smoke-test step checks once and, while the model is
still loading, asks to be re-queued with the rollout's poll countdown (not counted as a
failure, bounded by the smoke-test budget) instead of holding its worker slot for the load."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deployments.targets.endpoint import Credential, Endpoint, Protocol
from gcp import kube
from runbook.executors import EXECUTORS, kube_endpoint
from runbook.owners import StepClaim
from runbook.plan import SERVICE_PROXY_URL_OUTPUT, ApiRequest, Step
from runbook.results import Failed, Retry, Succeeded
from tests.runbook.loading_server import LoadingServer


@pytest.fixture
def loading(request: Any) -> Iterator[LoadingServer]:
    server = LoadingServer(hold=request.param == "holds")
    yield server
    server.stop()


def _claim(action: str, path: str, url: str, *, started: datetime | None = None) -> StepClaim:
    step = Step(
        key="health",
        title="Wait for the model server",
        action=action,
        request=ApiRequest(api="endpoint", method="GET", path=path),
        cli="curl",
        required_role="",
        params={"cluster": 1},
    )
    return StepClaim(
        owner_kind="deployment",
        owner_id=1,
        run_id=1,
        lease_owner="t",
        step=step,
        operation="",
        retries=0,
        started_at=started or datetime.now(UTC),
        outputs={"service_uri": url},
        endpoint=Endpoint("service_uri", Protocol.OPENAI, Credential.CLOUD_RUN_ID_TOKEN, ("m",)),
    )


@pytest.mark.parametrize("loading", ["answers 503", "holds"], indirect=True)
def test_cloud_run_health_re_queues_while_the_model_loads(
    sandbox: Any, settings: Any, loading: LoadingServer
) -> None:
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 1.0}
    claim = _claim("endpoint.vllm_health", "/health", loading.url)

    waits = [EXECUTORS["endpoint.vllm_health"](claim) for _ in range(3)]

    for result in waits:
        assert isinstance(result, Retry), result
        assert result.counted is False  # a model loading is no failure; the budget bounds it
        poll = (settings.ROLLOUT["POLL_SECONDS"], settings.ROLLOUT["POLL_MAX_SECONDS"])
        assert result.countdown is not None and poll[0] <= result.countdown <= poll[1]
    assert loading.calls == 3
    loading.ready.set()
    loading.release.set()
    assert isinstance(EXECUTORS["endpoint.vllm_health"](claim), Succeeded)


@pytest.mark.parametrize("loading", ["holds"], indirect=True)
def test_ollama_chat_probes_the_server_before_chatting_and_re_queues_while_it_starts(
    sandbox: Any, settings: Any, loading: LoadingServer
) -> None:
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 1.0}
    claim = _claim("endpoint.ollama_chat", "/api/chat", loading.url)
    result = EXECUTORS["endpoint.ollama_chat"](claim)
    assert isinstance(result, Retry) and result.counted is False, result
    assert loading.calls == 1  # the probe only; no chat sent to a server still starting


@pytest.mark.parametrize("loading", ["answers 503"], indirect=True)
def test_the_pause_grows_with_the_time_already_waited(
    sandbox: Any, settings: Any, loading: LoadingServer
) -> None:
    settings.ROLLOUT = {
        **settings.ROLLOUT,
        "POLL_SECONDS": 1.0,
        "POLL_MAX_SECONDS": 30.0,
        "SMOKE_TEST_TIMEOUT_SECONDS": 600.0,
    }
    for waited, countdown in ((0, 1.0), (10, 5.0), (40, 20.0), (200, 30.0)):
        started = datetime.now(UTC) - timedelta(seconds=waited)
        result = EXECUTORS["endpoint.vllm_health"](
            _claim("endpoint.vllm_health", "/health", loading.url, started=started)
        )
        assert isinstance(result, Retry) and result.countdown is not None
        assert result.countdown == pytest.approx(countdown, abs=0.5)


@pytest.mark.parametrize("loading", ["answers 503"], indirect=True)
def test_health_stops_waiting_once_the_smoke_test_budget_is_spent(
    sandbox: Any, settings: Any, loading: LoadingServer
) -> None:
    budget = settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"]
    long_ago = datetime.now(UTC) - timedelta(seconds=budget + 1)
    claim = _claim("endpoint.vllm_health", "/health", loading.url, started=long_ago)
    result = EXECUTORS["endpoint.vllm_health"](claim)
    assert isinstance(result, Failed)
    assert "the last answer: the service answered 503: loading" in result.error


class _Reply:
    def __init__(self, status: int, data: bytes) -> None:
        self.status, self.data = status, data


def test_gke_proxy_health_re_queues_uncounted_while_no_pod_is_ready(
    monkeypatch: Any, settings: Any
) -> None:
    """The API server's proxy answers 503 until a pod is ready (the model loaded)."""
    replies = iter([_Reply(503, b"no endpoints available for service"), _Reply(200, b"")])
    timeouts: list[float | None] = []

    def proxy(conn: Any, method: str, path: str, body: Any = None, **kw: Any) -> _Reply:
        timeouts.append(kw.get("timeout"))
        return next(replies)

    monkeypatch.setattr(kube, "proxy", proxy)
    monkeypatch.setattr(kube_endpoint, "conn_for", lambda params: kube.ClusterConn("10.0.0.1", ""))
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 7.0}
    claim = _claim("kube.proxy_health", "/api/v1/namespaces/n/services/s:8000/proxy/health", "")

    first = EXECUTORS["kube.proxy_health"](claim)
    assert isinstance(first, Retry) and first.counted is False
    healthy = EXECUTORS["kube.proxy_health"](claim)
    assert isinstance(healthy, Succeeded)
    # The endpoint's address is the Service's proxy on that API server.
    assert healthy.outputs == {
        SERVICE_PROXY_URL_OUTPUT: "https://10.0.0.1/api/v1/namespaces/n/services/s:8000/proxy"
    }
    assert timeouts and all(t is not None and t <= 7.0 for t in timeouts)


@pytest.mark.django_db
def test_an_uncounted_retry_is_re_queued_with_its_countdown(settings: Any) -> None:
    """What the runner does with the step's answer: the next check is queued after the
    countdown the step asked for, and the step's retries stay untouched."""
    from deployments.choices import Status
    from deployments.services.rollout import rollout_claim, rollout_record
    from runbook.models import IN_FLIGHT_OUTCOMES, StepRun
    from tests.factories import DeploymentFactory

    deployment: Any = DeploymentFactory(status=Status.APPROVED)
    claim = rollout_claim(deployment_id=deployment.pk)
    assert claim is not None

    rollout_record(claim=claim, result=Retry("the model is loading", counted=False, countdown=4.0))

    event = StepRun.objects.get(pk=claim.run_id)
    assert event.kind == "step" and event.outcome in IN_FLIGHT_OUTCOMES
    assert event.retries == 0
    deployment.refresh_from_db()
    for due in (event.not_before, deployment.advance_due_at):
        assert due is not None
        assert 3.0 <= (due - datetime.now(UTC)).total_seconds() <= 4.0


def test_gke_proxy_health_past_the_deadline_fails_naming_the_last_answer(
    monkeypatch: Any, settings: Any
) -> None:
    """The last check is still made at the deadline; its answer is the one named."""
    monkeypatch.setattr(
        kube, "proxy", lambda *a, **kw: _Reply(503, b"no endpoints available for service")
    )
    monkeypatch.setattr(kube_endpoint, "conn_for", lambda params: kube.ClusterConn("10.0.0.1", ""))
    budget = settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"]
    path = "/api/v1/namespaces/n/services/s:8000/proxy/health"
    long_ago = datetime.now(UTC) - timedelta(seconds=budget + 1)
    result = EXECUTORS["kube.proxy_health"](_claim("kube.proxy_health", path, "", started=long_ago))
    assert isinstance(result, Failed), result
    assert f"Waited {budget:.0f} s for GET {path} to answer" in result.error
    assert "the last answer: The service proxy answered 503: no endpoints" in result.error
