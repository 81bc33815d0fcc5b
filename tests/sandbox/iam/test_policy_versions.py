"""IAM policy versions and conditional role bindings, as strict as Google.

A policy with a conditional binding is only shown in full, and only written, as version 3
(https://cloud.google.com/iam/docs/policies#versions); a version 1 read of it hides the
condition behind a `_withcond_` role (https://cloud.google.com/iam/docs/troubleshooting-withcond).
"""

from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import secretmanager_v1
from google.cloud import storage as gcs  # type: ignore[attr-defined]
from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
from google.protobuf import json_format

from tests.sandbox.conftest import PROJECT, SERVICE_ACCOUNT
from tests.sandbox.test_flow import deployed  # noqa: F401 - a ready Cloud Run service

ACCESSOR = "roles/secretmanager.secretAccessor"
ME = f"serviceAccount:{SERVICE_ACCOUNT}"
TEMP = "user:oncall@example.com"
CONDITION = {
    "title": "until 2030",
    "expression": "request.time < timestamp('2030-01-01T00:00:00Z')",
}
SECRET = f"projects/{PROJECT}/secrets/iam-versions"


@pytest.fixture
def secrets_client(sandbox_process, credentials):
    return secretmanager_v1.SecretManagerServiceClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials,
    )


@pytest.fixture
def secret(sandbox, secrets_client):
    secrets_client.create_secret(
        parent=f"projects/{PROJECT}",
        secret_id="iam-versions",
        secret=secretmanager_v1.Secret(
            replication=secretmanager_v1.Replication(
                automatic=secretmanager_v1.Replication.Automatic()
            )
        ),
    )
    return SECRET


def get(client, resource: str, version: int | None = None) -> policy_pb2.Policy:
    options = options_pb2.GetPolicyOptions(requested_policy_version=version or 0)
    request = iam_policy_pb2.GetIamPolicyRequest(resource=resource)
    if version is not None:
        request.options.CopyFrom(options)
    return client.get_iam_policy(request=request)


def put(client, resource: str, version: int, *bindings: dict) -> policy_pb2.Policy:
    policy = get(client, resource, 3)
    json_format.ParseDict({"version": version, "bindings": list(bindings)}, policy)
    return client.set_iam_policy(
        request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)
    )


def conditional(role: str, *members: str, condition: dict | None = None) -> dict:
    return {"role": role, "members": list(members), "condition": condition or dict(CONDITION)}


def test_a_conditional_binding_needs_version_3(secret, secrets_client):
    with pytest.raises(gexc.BadRequest) as info:
        put(secrets_client, secret, 1, conditional(ACCESSOR, TEMP))
    assert info.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert list(get(secrets_client, secret, 3).bindings) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"title": "no expression"},
        {"expression": "request.time < timestamp('2030-01-01T00:00:00Z')"},
    ],
)
def test_a_condition_needs_a_title_and_an_expression(secret, secrets_client, condition):
    with pytest.raises(gexc.BadRequest):
        put(secrets_client, secret, 3, conditional(ACCESSOR, TEMP, condition=condition))


@pytest.mark.parametrize(
    "binding",
    [
        conditional("roles/run.invoker", "allUsers"),
        conditional("roles/run.invoker", "allAuthenticatedUsers", ME),
        conditional("roles/viewer", ME),
    ],
)
def test_no_condition_on_a_public_principal_or_a_basic_role(deployed, run_client, binding):  # noqa: F811
    with pytest.raises(gexc.BadRequest):
        put(run_client, deployed.name, 3, binding)


def test_a_version_3_read_shows_conditions_and_a_version_1_read_hides_them(secret, secrets_client):
    written = put(
        secrets_client, secret, 3, conditional(ACCESSOR, TEMP), {"role": ACCESSOR, "members": [ME]}
    )
    assert written.version == 3

    full = json_format.MessageToDict(get(secrets_client, secret, 3))
    assert full["version"] == 3
    assert full["bindings"] == [conditional(ACCESSOR, TEMP), {"role": ACCESSOR, "members": [ME]}]

    for version in (None, 0, 1):
        hidden = get(secrets_client, secret, version)
        assert hidden.version == 1
        assert hidden.etag == written.etag
        [withcond, plain] = hidden.bindings
        assert withcond.role.startswith(f"{ACCESSOR}_withcond_")
        assert not withcond.HasField("condition")
        assert list(withcond.members) == [TEMP]
        assert plain.role == ACCESSOR and list(plain.members) == [ME]


def test_a_version_1_policy_written_back_is_refused_not_stripped(secret, secrets_client):
    put(secrets_client, secret, 3, conditional(ACCESSOR, TEMP))
    hidden = get(secrets_client, secret)
    with pytest.raises(gexc.BadRequest):
        secrets_client.set_iam_policy(request={"resource": secret, "policy": hidden})
    assert get(secrets_client, secret, 3).bindings[0].condition.title == CONDITION["title"]


def test_without_conditions_version_3_is_answered_as_version_1(secret, secrets_client):
    written = put(secrets_client, secret, 3, {"role": ACCESSOR, "members": [ME]})
    assert written.version == 1
    assert get(secrets_client, secret, 3).version == 1


@pytest.mark.parametrize("version", [2, 4, -1])
def test_an_unknown_requested_version_is_refused(secret, secrets_client, version):
    with pytest.raises(gexc.BadRequest) as info:
        get(secrets_client, secret, version)
    assert info.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_cloud_run_reads_versions_the_same_way(deployed, run_client):  # noqa: F811
    role = "roles/run.invoker"
    put(run_client, deployed.name, 3, conditional(role, TEMP))
    assert get(run_client, deployed.name, 3).bindings[0].condition.title == CONDITION["title"]
    assert get(run_client, deployed.name).bindings[0].role.startswith(f"{role}_withcond_")
    with pytest.raises(gexc.BadRequest):
        put(run_client, deployed.name, 1, conditional(role, TEMP))


# Cloud Storage: its own JSON API, the version asked for with optionsRequestedPolicyVersion.


@pytest.fixture
def storage_client(sandbox_process, credentials):
    return gcs.Client(
        project=PROJECT,
        credentials=credentials,
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
    )


def make_bucket(client, name: str, uniform: bool = True):
    bucket = client.bucket(name)
    bucket.iam_configuration.uniform_bucket_level_access_enabled = uniform
    return client.create_bucket(bucket, location="europe-west1")


def test_bucket_conditions_need_version_3_to_write_and_to_read(sandbox, storage_client):
    bucket = make_bucket(storage_client, "hangar-iam-versions")
    reader = "roles/storage.objectViewer"
    policy = bucket.get_iam_policy(requested_policy_version=3)
    assert policy.version == 1
    policy.bindings.append({"role": reader, "members": {TEMP}, "condition": dict(CONDITION)})
    with pytest.raises(gexc.BadRequest):
        bucket.set_iam_policy(policy)  # still version 1

    policy.version = 3
    written = bucket.set_iam_policy(policy)
    assert written.version == 3

    with pytest.raises(gexc.BadRequest):
        bucket.get_iam_policy()
    with pytest.raises(gexc.BadRequest):
        bucket.get_iam_policy(requested_policy_version=1)
    full = bucket.get_iam_policy(requested_policy_version=3)
    assert full.version == 3
    assert {"role": reader, "members": {TEMP}, "condition": CONDITION} in full.bindings


def test_bucket_policy_checks(sandbox, storage_client, sandbox_process, credentials, auth_request):
    fine_grained = make_bucket(storage_client, "hangar-iam-fine", uniform=False)
    policy = fine_grained.get_iam_policy(requested_policy_version=3)
    policy.version = 3
    policy.bindings.append(
        {"role": "roles/storage.objectViewer", "members": {TEMP}, "condition": dict(CONDITION)}
    )
    with pytest.raises(gexc.BadRequest):
        fine_grained.set_iam_policy(policy)  # conditions need uniform bucket-level access

    uniform = make_bucket(storage_client, "hangar-iam-uniform")
    no_expression = {"members": {TEMP}, "condition": {"title": "t"}}
    public = {"members": {"allUsers"}, "condition": dict(CONDITION)}
    for binding in (no_expression, public):
        policy = uniform.get_iam_policy(requested_policy_version=3)
        policy.version = 3
        policy.bindings.append({"role": "roles/storage.objectViewer", **binding})
        with pytest.raises(gexc.BadRequest):
            uniform.set_iam_policy(policy)

    credentials.refresh(auth_request)
    url = f"{sandbox_process.url}/storage/v1/b/hangar-iam-uniform/iam"
    headers = {"Authorization": f"Bearer {credentials.token}"}
    for bad in ("x", "3.5"):
        answer = requests.get(
            url, params={"optionsRequestedPolicyVersion": bad}, headers=headers, timeout=10
        )
        assert answer.status_code == 400, bad
