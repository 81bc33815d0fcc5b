"""One IAM read-modify-write for Cloud Run, Secret Manager and Cloud Storage.

Hangar owns only the unconditional binding of a role: a conditional binding someone else
added (a time-boxed grant, say) must survive every grant and revoke, which means reading
and writing policy version 3 with the etag that was read.
"""

import copy

import pytest
from google.cloud import artifactregistry_v1, run_v2, secretmanager_v1
from google.cloud import storage as gcs  # type: ignore[attr-defined]
from google.cloud.devtools import cloudbuild_v1
from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
from google.protobuf import json_format

from gcp import cloud_run, secret_manager, storage
from gcp.clients import client_options, credentials, make_client
from gcp.iam_policy import read_modify_write
from tests.sandbox import helpers

ROLE = "roles/run.invoker"
ME = "serviceAccount:portal@hangar-sandbox.iam.gserviceaccount.com"
OTHER = "serviceAccount:other@hangar-sandbox.iam.gserviceaccount.com"
TEMP = "user:oncall@example.com"
CONDITION = {
    "title": "until 2030",
    "expression": "request.time < timestamp('2030-01-01T00:00:00Z')",
}


def conditional(role: str = ROLE, *members: str) -> dict:
    return {"role": role, "members": list(members or (TEMP,)), "condition": dict(CONDITION)}


class FakeApi:
    """read()/write() over one policy dict, recording what would be sent."""

    def __init__(self, policy: dict) -> None:
        self.policy = policy
        self.written: list[dict] = []

    def read(self) -> dict:
        return copy.deepcopy(self.policy)

    def write(self, policy: dict) -> None:
        self.written.append(copy.deepcopy(policy))


def run(api: FakeApi, **change) -> bool:
    return read_modify_write(api.read, api.write, role=ROLE, **change)


# The binding rule, without any API.


def test_a_conditional_binding_is_never_added_to():
    api = FakeApi({"version": 3, "etag": "BwY1", "bindings": [conditional()]})

    assert run(api, add=[ME])

    [written] = api.written
    assert written["bindings"] == [conditional(), {"role": ROLE, "members": [ME]}]
    assert written["version"] == 3
    assert written["etag"] == "BwY1"


def test_a_member_only_in_a_conditional_binding_is_granted_unconditionally():
    api = FakeApi({"version": 3, "etag": "BwY1", "bindings": [conditional(ROLE, ME)]})

    assert run(api, add=[ME])

    assert api.written[0]["bindings"] == [conditional(ROLE, ME), {"role": ROLE, "members": [ME]}]


def test_the_unconditional_binding_is_the_one_extended():
    api = FakeApi(
        {
            "version": 3,
            "etag": "BwY1",
            "bindings": [conditional(), {"role": ROLE, "members": [OTHER]}],
        }
    )

    assert run(api, add=[ME])

    assert api.written[0]["bindings"] == [conditional(), {"role": ROLE, "members": [OTHER, ME]}]


def test_remove_leaves_the_conditional_binding_and_drops_an_emptied_one():
    api = FakeApi(
        {
            "version": 3,
            "etag": "BwY1",
            "bindings": [conditional(ROLE, ME), {"role": ROLE, "members": [ME]}],
        }
    )

    assert run(api, remove=[ME])

    assert api.written[0]["bindings"] == [conditional(ROLE, ME)]
    assert api.written[0]["version"] == 3


def test_nothing_is_written_when_nothing_changes():
    api = FakeApi(
        {
            "version": 3,
            "etag": "BwY1",
            "bindings": [conditional(ROLE, ME), {"role": ROLE, "members": [ME]}],
        }
    )
    assert not run(api, add=[ME])
    # Only in the conditional binding: not ours to remove.
    only_conditional = FakeApi(
        {"version": 3, "etag": "BwY1", "bindings": [conditional(ROLE, OTHER)]}
    )
    assert not run(only_conditional, remove=[OTHER])
    assert api.written == only_conditional.written == []


def test_other_roles_are_left_alone_and_version_1_stays_without_conditions():
    viewer = {"role": "roles/run.viewer", "members": [ME]}
    api = FakeApi({"version": 1, "etag": "BwY1", "bindings": [viewer]})

    assert run(api, add=[ME], remove=["allUsers"])

    assert api.written[0] == {
        "version": 1,
        "etag": "BwY1",
        "bindings": [viewer, {"role": ROLE, "members": [ME]}],
    }


# Each adapter against the sandbox.


def policy_v3(client, resource: str) -> policy_pb2.Policy:
    return client.get_iam_policy(
        request=iam_policy_pb2.GetIamPolicyRequest(
            resource=resource, options=options_pb2.GetPolicyOptions(requested_policy_version=3)
        )
    )


def seed(client, resource: str, *bindings: dict) -> None:
    """Set a version 3 policy, as someone using IAM Conditions would."""
    policy = policy_v3(client, resource)
    json_format.ParseDict({"bindings": list(bindings)}, policy)
    policy.version = 3
    client.set_iam_policy(
        request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)
    )


def bindings_v3(client, resource: str) -> list[dict]:
    policy = json_format.MessageToDict(policy_v3(client, resource))
    assert policy["version"] == 3
    return policy["bindings"]


def last_write(sandbox, path_regex: str, method: str = "POST") -> dict:
    body = sandbox.requests(path_regex=path_regex, method=method)[-1]["body"]
    return body.get("policy", body)


def assert_read_asked_for_version_3(sandbox, path_regex: str, param: str) -> None:
    reads = sandbox.requests(path_regex=path_regex, method="GET")
    assert reads and all(r["query"].get(param) == "3" for r in reads)


@pytest.fixture
def service(sandbox):
    helpers.create_repository(make_client(artifactregistry_v1.ArtifactRegistryClient))
    builds = make_client(cloudbuild_v1.CloudBuildClient)
    image = helpers.image_uri()
    helpers.wait(builds.create_build(parent=helpers.PARENT, build=helpers.image_build(image)))
    runs = make_client(run_v2.ServicesClient)
    op = runs.create_service(
        parent=helpers.PARENT, service_id="iam-demo", service=helpers.gpu_service(image)
    )
    return helpers.wait(op).name


def test_cloud_run_grant_keeps_a_conditional_invoker(sandbox, service):
    runs = make_client(run_v2.ServicesClient)
    seed(runs, service, conditional(ROLE, TEMP), {"role": ROLE, "members": ["allUsers"]})

    assert cloud_run.grant_invoker(name=service, member=ME, role=ROLE)

    assert bindings_v3(runs, service) == [conditional(ROLE, TEMP), {"role": ROLE, "members": [ME]}]
    written = last_write(sandbox, r":setIamPolicy$")
    assert written["version"] == 3 and written["etag"]
    assert_read_asked_for_version_3(sandbox, r":getIamPolicy$", "options.requestedPolicyVersion")
    sandbox.clear_requests()
    assert not cloud_run.grant_invoker(name=service, member=ME, role=ROLE)
    assert sandbox.requests(path_regex=r":setIamPolicy$") == []


SECRET = "projects/hangar-sandbox/secrets/hf-iam-demo"
ACCESSOR = "roles/secretmanager.secretAccessor"


def test_secret_grant_and_revoke_keep_a_conditional_accessor(sandbox):
    assert secret_manager.ensure_secret(name=SECRET, labels={"managed-by": "hangar"})
    secrets = make_client(secretmanager_v1.SecretManagerServiceClient)
    seed(secrets, SECRET, conditional(ACCESSOR, ME))

    assert secret_manager.grant(name=SECRET, member=ME, role=ACCESSOR)
    assert bindings_v3(secrets, SECRET) == [
        conditional(ACCESSOR, ME),
        {"role": ACCESSOR, "members": [ME]},
    ]
    assert last_write(sandbox, r":setIamPolicy$")["version"] == 3

    assert secret_manager.revoke(name=SECRET, member=ME, role=ACCESSOR)
    assert bindings_v3(secrets, SECRET) == [conditional(ACCESSOR, ME)]
    assert last_write(sandbox, r":setIamPolicy$")["version"] == 3
    assert_read_asked_for_version_3(sandbox, r":getIamPolicy$", "options.requestedPolicyVersion")

    sandbox.clear_requests()
    assert not secret_manager.revoke(name=SECRET, member=ME, role=ACCESSOR)
    assert sandbox.requests(path_regex=r":setIamPolicy$") == []


def test_bucket_grant_keeps_a_conditional_reader(sandbox):
    reader = "roles/storage.objectViewer"
    bucket = "hangar-iam-demo-weights"
    body = {
        "name": bucket,
        "location": "europe-west1",
        "labels": {"managed-by": "hangar"},
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
    }
    assert storage.ensure_bucket(project="hangar-sandbox", body=body)
    handle = gcs.Client(
        project="hangar-sandbox", credentials=credentials(), client_options=client_options()
    ).bucket(bucket)
    policy = handle.get_iam_policy(requested_policy_version=3)
    policy.version = 3
    policy.bindings.append({"role": reader, "members": {TEMP}, "condition": dict(CONDITION)})
    handle.set_iam_policy(policy)

    assert storage.grant_bucket_role(bucket=bucket, member=ME, role=reader)

    after = handle.get_iam_policy(requested_policy_version=3)
    assert after.version == 3
    ours = [b for b in after.bindings if b["role"] == reader]
    assert {"role": reader, "members": {TEMP}, "condition": CONDITION} in ours
    assert {"role": reader, "members": {ME}} in ours
    written = last_write(sandbox, r"/iam$", method="PUT")
    assert written["version"] == 3 and written["etag"]
    assert_read_asked_for_version_3(sandbox, r"/iam$", "optionsRequestedPolicyVersion")
    sandbox.clear_requests()
    assert not storage.grant_bucket_role(bucket=bucket, member=ME, role=reader)
    assert sandbox.requests(path_regex=r"/iam$", method="PUT") == []
