"""A probe of a model server still loading frees its worker at once: Cloud Run holds the
request while the instance starts, so the probe waits only the answer time its target
declares, and the step is re-queued by countdown; the smoke test's deadline still fails
the step, naming what it waited for and the last answer seen."""

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deployments.choices import Status
from deployments.targets.cloud_run.steps import CLOUD_RUN_ANSWER_TIME
from deployments.targets.endpoint import AnswerTime, Credential, Endpoint, Protocol
from runbook import runner
from runbook.executors import EXECUTORS
from runbook.ledger import runs_of
from runbook.models import IN_FLIGHT_OUTCOMES, Outcome, StepRun
from runbook.plan import ApiRequest, Step
from runbook.results import Failed, Retry, Succeeded
from tests.factories import DeploymentFactory
from tests.runbook.loading_server import LoadingServer
from tests.step_claims import step_claim

QUICK = AnswerTime(0.2, "a test server on this machine")


def _health_step(path: str = "/health") -> Step:
    return Step(
        key="health",
        title="Wait for the model server",
        action="endpoint.vllm_health",
        request=ApiRequest(api="endpoint", method="GET", path=path),
        cli="curl",
        required_role="",
    )


def _claim(url: str, *, answer_time: AnswerTime | None = QUICK, waited: float = 0) -> Any:
    endpoint = Endpoint(
        "service_uri",
        Protocol.OPENAI,
        Credential.GKE_GATEWAY_IN_VPC,  # no credential: the test server checks none
        ("m",),
        answer_time=answer_time,
    )
    return step_claim(
        _health_step(),
        outputs={"service_uri": url},
        endpoint=endpoint,
        started_at=datetime.now(UTC) - timedelta(seconds=waited),
    )


@pytest.fixture
def holding() -> Iterator[LoadingServer]:
    server = LoadingServer(hold=True)
    yield server
    server.stop()


def _closed_port() -> str:
    """An address where nothing listens (a server not started yet): connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.django_db
def test_a_probe_of_a_sandbox_service_still_loading_returns_and_is_re_queued(
    sandbox: Any, settings: Any
) -> None:
    """The real path: a cloud-run-ollama rollout reaches its smoke test while the sandbox's
    Cloud Run front end holds requests for a 60 s model load. The advance that probes it
    returns after the declared answer time, not the check time nor the load, and the step
    waits for its countdown, its retries untouched."""
    sandbox.config(operation_delay=0, model_load_delay=60)
    # A check time far above the declared answer time: waiting for it would show.
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 30.0}
    deployment: Any = DeploymentFactory(status=Status.APPROVED)
    deadline = time.monotonic() + 60
    smoke = None
    while smoke is None:
        assert time.monotonic() < deadline, list(runs_of("deployment", deployment.pk).values())
        StepRun.objects.filter(owner_id=deployment.pk).update(not_before=None)
        type(deployment).objects.filter(pk=deployment.pk).update(advance_due_at=None)
        started = time.monotonic()
        runner.advance("deployment", deployment.pk)
        took = time.monotonic() - started
        smoke = runs_of("deployment", deployment.pk).filter(step="smoke_test").first()

    # Far below the 30 s check time and the 60 s load (the probe waited 0.25 s).
    assert took < 10
    assert smoke.outcome in IN_FLIGHT_OUTCOMES and smoke.retries == 0
    assert f"no answer within {CLOUD_RUN_ANSWER_TIME.seconds:.2f} s" in smoke.error
    assert smoke.not_before is not None
    countdown = (smoke.not_before - datetime.now(UTC)).total_seconds()
    assert 0 < countdown <= settings.ROLLOUT["POLL_MAX_SECONDS"]
    deployment.refresh_from_db()
    assert deployment.status == Status.DEPLOYING and deployment.advance_due_at is not None
    # Only the probe reached the service: no chat was sent to a server still starting.
    calls = sandbox.requests(path_regex=r"^/_run/")
    assert [c["method"] for c in calls] == ["GET"]


def test_a_held_probe_waits_the_declared_answer_time_then_asks_for_a_countdown(
    settings: Any, holding: LoadingServer
) -> None:
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 30.0}
    result = EXECUTORS["endpoint.vllm_health"](_claim(holding.url))
    assert isinstance(result, Retry) and result.counted is False, result
    assert "no answer within 0.20 s" in result.error
    assert result.countdown is not None and result.countdown > 0
    assert holding.calls == 1


def test_an_endpoint_declaring_no_answer_time_is_probed_for_the_check_time(
    settings: Any, holding: LoadingServer
) -> None:
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 0.3}
    result = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, answer_time=None))
    assert isinstance(result, Retry) and "no answer within 0.30 s" in result.error


def test_past_half_the_budget_a_probe_gets_the_full_check_time(
    settings: Any, holding: LoadingServer
) -> None:
    """A network slower than the target declares still gets an answer in before the
    deadline."""
    settings.ROLLOUT = {
        **settings.ROLLOUT,
        "SMOKE_TEST_CHECK_SECONDS": 0.5,
        "SMOKE_TEST_TIMEOUT_SECONDS": 100.0,
    }
    early = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, waited=10))
    late = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, waited=60))
    assert isinstance(early, Retry) and "within 0.20 s" in early.error
    assert isinstance(late, Retry) and "within 0.50 s" in late.error


def test_connection_refused_is_a_server_not_started_yet(settings: Any) -> None:
    result = EXECUTORS["endpoint.vllm_health"](_claim(_closed_port()))
    assert isinstance(result, Retry) and result.counted is False, result
    assert "could not connect" in result.error


def test_the_countdown_never_runs_past_the_deadline(settings: Any, holding: LoadingServer) -> None:
    settings.ROLLOUT = {
        **settings.ROLLOUT,
        "POLL_SECONDS": 1.0,
        "POLL_MAX_SECONDS": 60.0,
        "SMOKE_TEST_TIMEOUT_SECONDS": 100.0,
    }
    result = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, waited=97))
    assert isinstance(result, Retry) and result.countdown is not None
    assert result.countdown <= 3.2  # the last check at the deadline, not 48 s after


@pytest.mark.parametrize(
    ("server", "last_answer"),
    # Past half the budget a probe waits the full check time.
    [("holds", "no answer within 0.40 s"), ("refuses", "could not connect")],
)
def test_the_deadline_fails_the_step_naming_the_wait_and_the_last_answer(
    settings: Any, holding: LoadingServer, server: str, last_answer: str
) -> None:
    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 0.4}
    budget = settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"]
    url = holding.url if server == "holds" else _closed_port()
    result = EXECUTORS["endpoint.vllm_health"](_claim(url, waited=budget + 1))
    assert isinstance(result, Failed), result
    assert f"Waited {budget:.0f} s for GET /health on {url} to answer" in result.error
    assert f"the last answer: {last_answer}" in result.error
    assert "ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS" in result.hint


def test_an_answer_at_the_deadline_still_counts(settings: Any, holding: LoadingServer) -> None:
    """The last check is made even once the budget is spent: a server that answers it is
    healthy, not failed."""
    holding.ready.set()
    holding.release.set()
    budget = settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"]
    result = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, waited=budget + 1))
    assert isinstance(result, Succeeded), result


@pytest.mark.django_db
def test_a_step_past_its_deadline_fails_the_rollout_with_the_last_answer(
    sandbox: Any, settings: Any, holding: LoadingServer
) -> None:
    """Through the engine: the step's Failed result fails the deployment, and the failure
    the person reads names the wait and the last answer."""
    from deployments.services.rollout import rollout_claim, rollout_record

    settings.ROLLOUT = {**settings.ROLLOUT, "SMOKE_TEST_CHECK_SECONDS": 0.4}
    deployment: Any = DeploymentFactory(status=Status.APPROVED)
    claim = rollout_claim(deployment_id=deployment.pk)
    assert claim is not None
    budget = settings.ROLLOUT["SMOKE_TEST_TIMEOUT_SECONDS"]
    result = EXECUTORS["endpoint.vllm_health"](_claim(holding.url, waited=budget + 1))
    rollout_record(claim=claim, result=result)

    deployment.refresh_from_db()
    assert deployment.status == Status.FAILED
    assert "the last answer: no answer within 0.40 s" in deployment.failure_message
    assert StepRun.objects.get(pk=claim.run_id).outcome == Outcome.FAILED
