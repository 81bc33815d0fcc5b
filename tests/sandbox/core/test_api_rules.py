"""Authentication, Google's error shape, strict parsing and scoping."""

import pytest
import requests
from google.api_core import exceptions
from google.cloud import artifactregistry_v1, run_v2

from tests.sandbox import helpers
from tests.sandbox.helpers import PARENT, PROJECT


@pytest.fixture
def token(credentials, auth_request):
    credentials.refresh(auth_request)
    return credentials.token


def test_missing_credentials_is_401(sandbox, sandbox_process):
    response = requests.get(f"{sandbox_process.url}/v2/{PARENT}/services", timeout=5)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 401
    assert error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request is missing required authentication credential")


def test_unknown_token_is_401(sandbox, sandbox_process):
    response = requests.get(
        f"{sandbox_process.url}/v2/{PARENT}/services",
        headers={"Authorization": "Bearer ya29.forged"},
        timeout=5,
    )
    assert response.status_code == 401


def test_id_token_is_not_an_access_token(sandbox, sandbox_process, auth_request):
    from google.oauth2 import id_token

    forged = id_token.fetch_id_token(auth_request, sandbox_process.url)
    response = requests.get(
        f"{sandbox_process.url}/v2/{PARENT}/services",
        headers={"Authorization": f"Bearer {forged}"},
        timeout=5,
    )
    assert response.status_code == 401


def test_unknown_body_field_is_rejected_like_google(sandbox, sandbox_process, token):
    body = {"template": {"foo": 1, "containers": [{"image": "x"}]}}
    response = requests.post(
        f"{sandbox_process.url}/v2/{PARENT}/services?serviceId=svc",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "Invalid JSON payload received. Unknown name \"foo\" at 'service.template': "
        "Cannot find field."
    )
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_unknown_query_parameter_is_rejected(sandbox, sandbox_process, token):
    response = requests.get(
        f"{sandbox_process.url}/v2/{PARENT}/services?pageSize=5&colour=blue",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert 'Unknown name "colour"' in response.json()["error"]["message"]


def test_wrong_method_is_404(sandbox, sandbox_process, token):
    response = requests.put(
        f"{sandbox_process.url}/v2/{PARENT}/services/svc",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


def test_other_project_is_permission_denied(sandbox, run_client):
    with pytest.raises(exceptions.Forbidden) as info:
        run_client.get_service(name="projects/someone-else/locations/europe-west1/services/x")
    assert "Permission 'run.services.get' denied on resource" in info.value.message


def test_unknown_region_is_rejected(sandbox, registry_client):
    with pytest.raises(exceptions.BadRequest):
        registry_client.list_repositories(parent=f"projects/{PROJECT}/locations/europe-west99")


def test_missing_service_is_404(sandbox, run_client):
    with pytest.raises(exceptions.NotFound) as info:
        run_client.get_service(name=f"{PARENT}/services/nope")
    assert "does not exist" in info.value.message


def test_repository_rules(sandbox, registry_client):
    repo = helpers.create_repository(registry_client)
    assert repo.name == f"{PARENT}/repositories/llm"
    assert repo.format_ == artifactregistry_v1.Repository.Format.DOCKER
    with pytest.raises(exceptions.Conflict):
        helpers.create_repository(registry_client)
    with pytest.raises(exceptions.BadRequest):
        helpers.create_repository(registry_client, repo="Bad_Name")
    with pytest.raises(exceptions.BadRequest):
        registry_client.create_repository(
            parent=PARENT, repository_id="nofmt", repository=artifactregistry_v1.Repository()
        )
    listed = list(registry_client.list_repositories(parent=PARENT))
    assert [r.name for r in listed] == [repo.name]
    helpers.wait(registry_client.delete_repository(name=repo.name))
    assert sandbox.state()["repositories"] == []


def test_invalid_service_id(sandbox, run_client):
    with pytest.raises(exceptions.BadRequest) as info:
        run_client.create_service(
            parent=PARENT, service_id="Not_Valid", service=helpers.gpu_service("x")
        )
    assert "Invalid service id" in info.value.message


def test_service_with_missing_image_fails_its_operation(sandbox, run_client):
    image = helpers.image_uri(repo="nothing")
    op = run_client.create_service(
        parent=PARENT, service_id="no-image", service=helpers.gpu_service(image)
    )
    with pytest.raises(exceptions.GoogleAPICallError) as info:
        helpers.wait(op)
    assert f"Image '{image}' not found." in str(info.value)
    svc = run_client.get_service(name=f"{PARENT}/services/no-image")
    assert svc.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    assert not svc.reconciling
