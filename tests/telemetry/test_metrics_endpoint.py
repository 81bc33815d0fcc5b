"""Hangar's /metrics: off without METRICS_TOKEN, a bearer token or a platform admin
otherwise; rollout steps by target from their events, the proxy's and the workers'
counters summed across processes (multiprocess mode), the queue's depth from Redis."""

import json
import logging
import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from deployments.choices import Phase
from runbook.models import Outcome, StepRun
from telemetry import instruments
from telemetry.logs import ContextFilter, log_context
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-" + "t" * 40


@pytest.fixture
def metrics_on(settings):
    settings.METRICS = {"TOKEN": TOKEN}


def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_off_without_a_token_and_closed_without_the_right_one(client, settings, approver):
    settings.METRICS = {"TOKEN": None}
    assert client.get("/metrics").status_code == 404
    settings.METRICS = {"TOKEN": TOKEN}
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(approver)  # a platform admin signed in
    assert client.get("/metrics").status_code == 200


def test_rollout_steps_by_target_from_their_events(client, metrics_on):
    deployment: Any = DeploymentFactory(target="cloud-run-ollama")
    now = timezone.now()
    for seconds, outcome in ((3, Outcome.SUCCEEDED), (40, Outcome.SUCCEEDED), (2, Outcome.FAILED)):
        StepRun.objects.create(
            owner_kind="deployment",
            owner_id=deployment.pk,
            phase=Phase.DEPLOY,
            step="build_image",
            outcome=outcome,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    samples = scrape(client)
    labels = (
        ("outcome", "succeeded"),
        ("phase", "deploy"),
        ("step", "build_image"),
        ("target", "cloud-run-ollama"),
    )
    assert samples[("hangar_rollout_step_duration_seconds_count", labels)] == 2
    five = tuple(sorted((*labels, ("le", "5.0"))))
    assert samples[("hangar_rollout_step_duration_seconds_bucket", five)] == 1
    assert samples[("hangar_rollout_step_duration_seconds_sum", labels)] == pytest.approx(43)


ANOTHER_PROCESS = (
    "import sys; from telemetry import instruments; instruments.ADVANCE_TASKS.labels("
    "step=sys.argv[1], action='cloud_run.apply_service').inc()"
)


def test_counters_of_other_processes_are_summed(client, metrics_on):
    # A step name no rollout has: the test processes beside this one share the metrics
    # directory, and their rollouts count real steps while this test runs.
    step = f"metrics-test-{uuid.uuid4().hex}"
    key = ("hangar_advance_tasks_total", (("action", "cloud_run.apply_service"), ("step", step)))
    before = scrape(client).get(key, 0)
    instruments.ADVANCE_TASKS.labels(step=step, action="cloud_run.apply_service").inc()
    # A worker or another web process: the same metrics directory (inherited), its own file.
    subprocess.run([sys.executable, "-c", ANOTHER_PROCESS, step], check=True, timeout=60)
    assert scrape(client)[key] == before + 2


def test_queue_depth_is_read_from_the_broker(client, metrics_on, settings):
    settings.CELERY_BROKER_URL = settings.CELERY_BROKER_URL  # this session's Redis db
    queue = f"metrics-test-{timezone.now().timestamp()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        broker.rpush(queue, "a", "b")
        broker.rpush(f"{queue}\x06\x163", "c")
        assert scrape(client)[("hangar_celery_queue_depth", (("queue", queue),))] == 3
    finally:
        broker.delete(queue, f"{queue}\x06\x163")


def test_log_lines_are_json_with_the_request_and_deployment_ids(client, deployer, capfd):
    handler = logging.StreamHandler()
    formatter_conf = settings.LOGGING["formatters"]["json"]
    from pythonjsonlogger.json import JsonFormatter

    handler.setFormatter(
        JsonFormatter(formatter_conf["fmt"], rename_fields=formatter_conf["rename_fields"])
    )
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("hangar.test")
    logger.addHandler(handler)
    try:
        with log_context(request="req-1", deployment=42):
            logger.warning("step failed")
    finally:
        logger.removeHandler(handler)
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == "req-1" and line["deployment_id"] == "42"
    assert line["message"] == "step failed" and line["level"] == "WARNING"

    response = client.get("/deployments/7/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert client.get("/", HTTP_X_REQUEST_ID="not ok\n")["X-Request-ID"] != "not ok\n"


def test_djangos_own_request_lines_carry_the_ids(client, deployer):
    seen: list[tuple[str, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.request_id, record.deployment_id))  # type: ignore[attr-defined]

    handler = Keep()
    handler.addFilter(ContextFilter())  # as the console handler has it
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    client.force_login(deployer)
    try:
        client.get("/deployments/123456/", HTTP_X_REQUEST_ID="req-404")  # "Not Found: ..."
    finally:
        logger.removeHandler(handler)
    assert seen == [("req-404", "123456")]
