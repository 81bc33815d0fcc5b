"""Hostile input on the API is a 4xx in the one error shape, never a 5xx."""

import pytest

from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

DEEP_LIST = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


@pytest.fixture
def signed_in(api, team, deployer, approver):
    DeploymentFactory(team=team, requested_by=deployer)
    api.force_authenticate(approver)
    return api


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT, '{"slug": NaN}', '{"a": Infinity}'])
@pytest.mark.parametrize(
    "path", ["/api/v1/deployments/", "/api/v1/estimates/", "/api/v1/deployments/1/approve/"]
)
def test_a_body_nested_too_deep_or_with_nan_is_a_400(signed_in, path, body):
    response = signed_in.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_that_is_not_utf8_is_a_400(signed_in):
    response = signed_in.post(
        "/api/v1/deployments/", data=b"\xff\xfe{}", content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999999",
        "offset=99999999999999999999999",
        "limit=99999999999999999999999&offset=99999999999999999999999",
        "limit=-5&offset=-3",
        "limit=abc&offset=1e9",
    ],
)
def test_paging_past_any_number_is_answered(signed_in, query):
    response = signed_in.get(f"/api/v1/deployments/?{query}")
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) <= 200


@pytest.mark.parametrize(
    "header", ["Bearer hgr_\x00_x", "Bearer hgr_" + "a" * 5000 + "_x", "Bearer hgr_é_x"]
)
def test_a_malformed_token_is_a_401(api, header):
    response = api.get("/api/v1/deployments/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401, response.content[:300]
    assert response.json()["error"]["message"] == "Malformed API token."


@pytest.mark.parametrize("param", ["action", "team", "actor"])
@pytest.mark.parametrize("export", ["", "&format=csv"])
def test_audit_filters_with_a_nul_are_no_5xx(client, approver, param, export):
    client.force_login(approver)
    response = client.get(f"/audit/?{param}=a%00b{export}")
    assert response.status_code == 200
    b"".join(response.streaming_content) if response.streaming else response.content
