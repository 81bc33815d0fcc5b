"""Faults switched on per call, as the portal's tests will use them."""

import pytest
import requests
from google.api_core import exceptions
from google.cloud import artifactregistry_v1
from google.cloud.devtools import cloudbuild_v1

from tests.sandbox import helpers
from tests.sandbox.helpers import PARENT


def test_unavailable_once_then_success(sandbox, run_client):
    sandbox.add_fault(method="GET", path=r"/services$", times=1, status=503)
    with pytest.raises(exceptions.ServiceUnavailable) as info:
        run_client.list_services(parent=PARENT, retry=None)
    assert info.value.response.json()["error"]["status"] == "UNAVAILABLE"
    assert list(run_client.list_services(parent=PARENT, retry=None)) == []
    log = sandbox.requests(path_regex=r"/services$", method="GET")
    assert [e["status"] for e in log] == [503, 200]
    assert log[0]["fault"]["status"] == "UNAVAILABLE"
    assert log[1]["fault"] is None
    assert log[0]["authorization"] is True
    assert log[0]["query"]["$alt"] == "json;enum-encoding=int"


def test_permission_denied_message(sandbox, run_client):
    sandbox.add_fault(method="POST", path="/services", status=403, permission="run.services.create")
    with pytest.raises(exceptions.Forbidden) as info:
        run_client.create_service(
            parent=PARENT, service_id="svc", service=helpers.gpu_service(helpers.image_uri())
        )
    assert info.value.response.json()["error"]["message"] == (
        f"Permission 'run.services.create' denied on resource '{PARENT}/services/svc' "
        "(or resource may not exist)."
    )


def test_quota_exceeded(sandbox, registry_client):
    sandbox.add_fault(path="/repositories", status=429)
    with pytest.raises(exceptions.TooManyRequests) as info:
        registry_client.list_repositories(parent=PARENT, retry=None)
    assert "Quota exceeded for quota metric" in info.value.message
    assert info.value.response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_operation_error(sandbox, registry_client):
    sandbox.add_fault(
        kind="operation_error",
        method="POST",
        path="/repositories",
        code=8,
        message="Quota exceeded for repositories.",
    )
    op = registry_client.create_repository(
        parent=PARENT,
        repository_id="llm",
        repository=artifactregistry_v1.Repository(
            format_=artifactregistry_v1.Repository.Format.DOCKER
        ),
    )
    with pytest.raises(exceptions.GoogleAPICallError) as info:
        helpers.wait(op)
    assert "Quota exceeded for repositories." in str(info.value)
    entry = sandbox.requests(path_regex="/repositories", method="POST")[0]
    assert entry["status"] == 200
    assert entry["fault"]["kind"] == "operation_error"


def test_build_failure_fault(sandbox, registry_client, build_client):
    helpers.create_repository(registry_client)
    sandbox.add_fault(kind="build_failure", message="Step #1: out of disk space")
    op = build_client.create_build(parent=PARENT, build=helpers.image_build(helpers.image_uri()))
    with pytest.raises(exceptions.GoogleAPICallError):
        helpers.wait(op)
    build = build_client.get_build(name=f"{PARENT}/builds/{op.metadata.build.id}")
    assert build.status == cloudbuild_v1.Build.Status.FAILURE
    assert build.status_detail == "Step #1: out of disk space"
    assert sandbox.state()["repositories"][0]["packages"] == []


def test_build_moves_through_statuses_and_can_be_cancelled(sandbox, build_client, registry_client):
    helpers.create_repository(registry_client)
    sandbox.config(operation_delay=2.0)
    op = build_client.create_build(parent=PARENT, build=helpers.image_build(helpers.image_uri()))
    name = f"{PARENT}/builds/{op.metadata.build.id}"
    assert build_client.get_build(name=name).status == cloudbuild_v1.Build.Status.QUEUED
    cancelled = build_client.cancel_build(name=name)
    assert cancelled.status == cloudbuild_v1.Build.Status.CANCELLED
    with pytest.raises(exceptions.GoogleAPICallError):
        helpers.wait(op)
    with pytest.raises(exceptions.BadRequest):
        build_client.cancel_build(name=name)


def test_reset_clears_everything(sandbox, sandbox_process, registry_client):
    helpers.create_repository(registry_client)
    sandbox.add_fault(path="/nothing")
    sandbox.reset()
    state = sandbox.state()
    assert state["repositories"] == [] and state["faults"] == [] and state["operations"] == []
    assert sandbox.requests() == []
    bad = requests.post(f"{sandbox_process.url}/_sandbox/faults", json={"kind": "nope"}, timeout=5)
    assert bad.status_code == 400
