"""The portal served by uvicorn (as in production) on the test database, and ready endpoints.

pytest-django's live_server runs WSGI threads, which cannot stream; the proxy is
async, so these tests start `uvicorn config.asgi:application` in a subprocess.
Endpoints are real sandbox Cloud Run services (built, deployed, IAM granted
through the official clients), so ID tokens and the invoker role are enforced.
"""

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from deployments.choices import Status
from playground.access import access_cache_clear
from playground.db import db_pool_close
from tests.factories import DeploymentFactory
from tests.processes import answers, start_server, stop
from tests.sandbox import helpers
from tests.sandbox.conftest import build_client, credentials, registry_client, run_client  # noqa: F401
from tests.sandbox.helpers import PARENT
from tests.sandbox.test_flow import grant_invoker

ROOT = Path(__file__).resolve().parents[2]

# Short waits so that cold starts and their limit fit in a test.
SERVER_ENV = {
    "PLAYGROUND_COLD_START_LIMIT_SECONDS": "3",
    "PLAYGROUND_WARMING_AFTER_SECONDS": "0.3",
    "PLAYGROUND_WARMING_EVERY_SECONDS": "0.3",
    "PLAYGROUND_STREAMS_PER_USER": "2",
    "PLAYGROUND_ACCESS_CACHE_SECONDS": "0",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortalServer:
    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        db = connection.settings_dict
        env = {
            **os.environ,
            **SERVER_ENV,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SANDBOX_URL": settings.SANDBOX_URL,
        }
        command = [sys.executable, "-m", "uvicorn", "config.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        login = self.url + "/login/"
        self.process = start_server(
            command, log=log, ready=lambda: answers(login), what="uvicorn", cwd=ROOT, env=env
        )

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture(scope="session")
def portal_server(django_db_setup, django_db_blocker, sandbox_process, tmp_path_factory):
    # The sandbox must run first: the server's google-auth reads GCE_METADATA_HOST from it.
    with django_db_blocker.unblock():
        server = PortalServer(tmp_path_factory.mktemp("uvicorn") / "uvicorn.log")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_proxy_state():
    """In-process proxy state (access cache, DB threads) must not outlive a test's data."""
    access_cache_clear()
    yield
    db_pool_close()


def sign_in(server: PortalServer, user) -> requests.Session:
    """A browser-like session: signed in through the login form, holding a CSRF cookie."""
    user.set_password("pw")
    user.save()
    http = requests.Session()
    page = http.get(server.url + "/login/", timeout=10)
    assert page.status_code == 200
    response = http.post(
        server.url + "/login/",
        data={
            "username": user.get_username(),
            "password": "pw",
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
    return http


def read_events(response):
    events, name = [], None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def deploy_service(registry, builds, runs, model: str, service_id: str):
    """A ready sandbox Cloud Run service serving `model`, invokable by the portal's identity."""
    try:
        helpers.create_repository(registry)
    except Exception as exc:  # a second service in the same test reuses the repository
        if "already exists" not in str(exc):
            raise
    image = helpers.image_uri(name=service_id)
    dockerfile = helpers.DOCKERFILE.replace("ENV MODEL gemma3:4b", f"ENV MODEL {model}")
    helpers.wait(builds.create_build(parent=PARENT, build=helpers.image_build(image, dockerfile)))
    service = helpers.wait(
        runs.create_service(
            parent=PARENT, service_id=service_id, service=helpers.gpu_service(image)
        )
    )
    grant_invoker(runs, service)
    return service


@pytest.fixture
def endpoint(transactional_db, sandbox, registry_client, build_client, run_client, team):  # noqa: F811
    """A ready cloud-run-ollama deployment of gemma3:4b for the `team` fixture's team."""
    service = deploy_service(registry_client, build_client, run_client, "gemma3:4b", "chat-gemma")
    return DeploymentFactory(
        team=team,
        slug="chat-gemma",
        status=Status.READY,
        endpoint_url=service.uri,
        target="cloud-run-ollama",
    )


def warm(deployment, sandbox) -> None:
    """Take the cold start out of a test that is not about it."""
    sandbox.config(model_load_delay=0)


def eventually(check, timeout: float = 30.0):
    """check()'s first truthy answer within `timeout` (the last answer if none): records are
    written in batches a moment after the stream ends (playground/records.py), which on a
    busy machine can take seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)
