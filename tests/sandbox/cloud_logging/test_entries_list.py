"""Cloud Logging's entries.list in the sandbox: a build's and a service's lines, and the
requests Google refuses refused the same way."""

import google.auth.transport.requests
import pytest
import requests
from google.oauth2 import id_token

from tests.sandbox import helpers
from tests.sandbox.helpers import PARENT, PROJECT
from tests.sandbox.test_flow import grant_invoker

BUILD = helpers.image_uri(name="logged")


@pytest.fixture
def post(sandbox_process, credentials):
    session = google.auth.transport.requests.AuthorizedSession(credentials)

    def call(body):
        return session.post(f"{sandbox_process.url}/v2/entries:list", json=body, timeout=10)

    return call


def _built(registry_client, build_client):
    helpers.create_repository(registry_client)
    operation = build_client.create_build(
        parent=PARENT, build=helpers.image_build(BUILD, helpers.DOCKERFILE)
    )
    return helpers.wait(operation)


def test_a_builds_lines_newest_first(sandbox, registry_client, build_client, post):
    build = _built(registry_client, build_client)

    response = post(
        {
            "resourceNames": [f"projects/{PROJECT}"],
            "filter": f'resource.type="build" AND resource.labels.build_id="{build.id}"',
            "orderBy": "timestamp desc",
        }
    )

    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert entries[0]["textPayload"] == "DONE"
    assert entries[-1]["textPayload"] == f'starting build "{build.id}"'
    assert {e["resource"]["labels"]["build_id"] for e in entries} == {build.id}
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)


def test_a_services_requests_are_logged(sandbox, registry_client, build_client, run_client, post):
    build = _built(registry_client, build_client)
    service = helpers.wait(
        run_client.create_service(
            parent=PARENT, service_id="logged", service=helpers.gpu_service(build.images[0])
        )
    )
    grant_invoker(run_client, service)
    token = id_token.fetch_id_token(google.auth.transport.requests.Request(), service.uri)
    requests.get(
        f"{service.uri}/api/tags", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    response = post(
        {
            "resourceNames": [f"projects/{PROJECT}"],
            "filter": 'resource.type="cloud_run_revision" AND resource.labels.service_name="logged"',
        }
    )

    texts = [e["textPayload"] for e in response.json()["entries"]]
    assert texts[0] == "Starting new instance. Reason: DEPLOYMENT"  # oldest first by default
    assert "GET 200 /api/tags" in texts


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "resourceNames is required"),
        ({"resourceNames": ["projects/someone-else"]}, 403, "logging.logEntries.list"),
        ({"resourceNames": [f"projects/{PROJECT}"], "orderBy": "severity"}, 400, "orderBy"),
        ({"resourceNames": [f"projects/{PROJECT}"], "pageSize": 1001}, 400, "pageSize"),
        ({"resourceNames": [f"projects/{PROJECT}"], "pageSize": -1}, 400, "pageSize"),
        (
            {"resourceNames": [f"projects/{PROJECT}"], "filter": "textPayload:foo"},
            400,
            "Unparseable filter",
        ),
        ({"resourceNames": [f"projects/{PROJECT}"], "pageToken": "nope"}, 400, "page token"),
        ({"resourceNames": [f"projects/{PROJECT}"], "limit": 5}, 400, "limit"),
    ],
)
def test_what_google_refuses_is_refused(sandbox, post, body, status, words):
    response = post(body)

    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
