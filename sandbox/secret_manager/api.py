"""Secret Manager v1: secrets, their versions, access to a version, and IAM policies.

Payloads are kept in memory for the builds and services that read them, and never
leave through the request log or /_sandbox/state: like Cloud Audit Logs, the log
records that a version was added, not what it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import google_crc32c
from google.cloud import secretmanager_v1 as sm
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.clock import timestamp_now
from sandbox.core.routing import ApiCall, Handler, Route
from sandbox.core.validation import labels_ok
from sandbox.iam import act_as, policies

Secret = sm.Secret.pb()
SecretVersion = sm.SecretVersion.pb()
VState = SecretVersion.State
SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
MAX_PAYLOAD = 64 * 1024
SECRET_ROLES = frozenset(
    {
        "roles/secretmanager.secretAccessor",
        "roles/secretmanager.secretVersionAdder",
        "roles/secretmanager.secretVersionManager",
        "roles/secretmanager.viewer",
        "roles/secretmanager.admin",
        "roles/owner",
        "roles/editor",
        "roles/viewer",
    }
)
# Roles that carry secretmanager.versions.access.
ACCESSOR_ROLES = frozenset(
    {"roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner"}
)


@dataclass
class StoredSecret:
    pb: Message
    policy: policy_pb2.Policy = field(default_factory=policies.empty_policy)
    versions: list[tuple[Message, bytes]] = field(default_factory=list)


class SecretStore:
    def __init__(self) -> None:
        self.secrets: dict[str, StoredSecret] = {}

    def clear(self) -> None:
        self.secrets.clear()

    def resolve(self, version_name: str) -> tuple[StoredSecret, Message, bytes] | None:
        """The version a name points at (`latest` is the newest enabled one)."""
        secret_name, _, version = version_name.partition("/versions/")
        stored = self.secrets.get(secret_name)
        if stored is None:
            return None
        enabled = [(pb, data) for pb, data in stored.versions if pb.state == VState.ENABLED]
        if version == "latest":
            return (stored, *enabled[-1]) if enabled else None
        for pb, data in stored.versions:
            if pb.name == version_name:
                return stored, pb, data
        return None

    def access_error(self, version_name: str, email: str) -> str | None:
        """Why `email` cannot read the version, as Google words it; None if it can."""
        found = self.resolve(version_name)
        if found is None:
            return f"Secret [{version_name}] not found or has no versions."
        stored, pb, _ = found
        members = {f"serviceAccount:{email}", f"user:{email}"}
        if not any(
            b.role in ACCESSOR_ROLES and members.intersection(b.members)
            for b in stored.policy.bindings
        ):
            return (
                f"Permission 'secretmanager.versions.access' denied for resource '{pb.name}' "
                "(or it may not exist)."
            )
        if pb.state != VState.ENABLED:
            return f"Secret version [{pb.name}] is in {VState.Name(pb.state)} state."
        return None

    def payload(self, version_name: str) -> bytes:
        found = self.resolve(version_name)
        return found[2] if found else b""

    def snapshot(self) -> list[dict[str, object]]:
        from sandbox.core.validation import to_json

        return [
            {
                "secret": to_json(s.pb),
                "iamPolicy": to_json(s.policy),
                "versions": [to_json(pb) for pb, _ in s.versions],
            }
            for s in self.secrets.values()
        ]


def _store(call: ApiCall) -> SecretStore:
    return call.state.store(SecretStore)


def _get(call: ApiCall, name: str) -> StoredSecret:
    stored = _store(call).secrets.get(name)
    if stored is None:
        raise errors.not_found(f"Secret [{name}] not found.")
    return stored


def create_secret(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    secret_id = call.query.secret_id
    if not SECRET_ID.fullmatch(secret_id or ""):
        raise errors.invalid("The secret_id must match [A-Za-z0-9_-]{1,255}.", "secret_id")
    secret = call.body(Secret())
    if not secret.HasField("replication"):
        raise errors.invalid("Secret.replication is required.", "secret.replication")
    labels_ok(secret.labels, "secret.labels")
    name = f"{parent}/secrets/{secret_id}"
    if name in _store(call).secrets:
        raise errors.ApiError("ALREADY_EXISTS", f"Secret [{name}] already exists.")
    secret.name = name
    secret.create_time.CopyFrom(timestamp_now())
    secret.etag = '"sbx1"'
    _store(call).secrets[name] = StoredSecret(secret)
    return secret


def get_secret(call: ApiCall) -> Message:
    return _get(call, call.fields["name"]).pb


def delete_secret(call: ApiCall) -> Message:
    _get(call, call.fields["name"])
    del _store(call).secrets[call.fields["name"]]
    return empty_pb2.Empty()


def add_version(call: ApiCall) -> Message:
    stored = _get(call, call.fields["parent"])
    request = call.body(sm.AddSecretVersionRequest.pb()())
    data = request.payload.data
    if not data:
        raise errors.invalid("Secret payload is empty.", "payload.data")
    if len(data) > MAX_PAYLOAD:
        raise errors.invalid("Secret payload is larger than 64 KiB.", "payload.data")
    if request.payload.HasField("data_crc32c") and request.payload.data_crc32c != int(
        google_crc32c.value(data)
    ):
        raise errors.invalid("Checksum mismatch: data_crc32c does not match the payload.")
    number = len(stored.versions) + 1
    version = SecretVersion(
        name=f"{stored.pb.name}/versions/{number}",
        state=VState.ENABLED,
        client_specified_payload_checksum=request.payload.HasField("data_crc32c"),
    )
    version.create_time.CopyFrom(timestamp_now())
    stored.versions.append((version, bytes(data)))
    return version


def get_version(call: ApiCall) -> Message:
    found = _store(call).resolve(call.fields["name"])
    if found is None:
        raise errors.not_found(f"Secret Version [{call.fields['name']}] not found.")
    return found[1]


def access_version(call: ApiCall) -> Message:
    found = _store(call).resolve(call.fields["name"])
    if found is None:
        raise errors.not_found(f"Secret Version [{call.fields['name']}] not found.")
    _, pb, data = found
    if pb.state != VState.ENABLED:
        raise errors.ApiError(
            "FAILED_PRECONDITION",
            f"Secret Version [{pb.name}] is in {VState.Name(pb.state)} state.",
        )
    checksum = int(google_crc32c.value(data))
    return sm.AccessSecretVersionResponse.pb()(
        name=pb.name, payload=sm.SecretPayload.pb()(data=data, data_crc32c=checksum)
    )


def get_iam_policy(call: ApiCall) -> Message:
    stored = _get(call, call.fields["resource"])
    return policies.read_policy(stored.policy, call.query.options.requested_policy_version)


def set_iam_policy(call: ApiCall) -> Message:
    stored = _get(call, call.fields["resource"])
    request = call.body(iam_policy_pb2.SetIamPolicyRequest())
    act_as.check_usable(call.state, [m for b in request.policy.bindings for m in b.members])
    stored.policy = policies.replace_policy(stored.policy, request.policy, SECRET_ROLES)
    return stored.policy


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    svc = "secretmanager.googleapis.com"
    locs: frozenset[str] = frozenset()
    one = "/v1/{%s=projects/*/secrets/*}"
    version = "/v1/{name=projects/*/secrets/*/versions/*}"

    def r(
        method: str, template: str, handler: Handler, request: Any, perm: str, **kw: Any
    ) -> Route:
        req = request.pb() if hasattr(request, "pb") else request
        return Route(method, template, handler, req, perm, svc, locs, **kw)

    return [
        r(
            "POST",
            "/v1/{parent=projects/*}/secrets",
            create_secret,
            sm.CreateSecretRequest,
            "secretmanager.secrets.create",
            body="secret",
            creates=("secrets", "secretId"),
        ),
        r("GET", one % "name", get_secret, sm.GetSecretRequest, "secretmanager.secrets.get"),
        r(
            "DELETE",
            one % "name",
            delete_secret,
            sm.DeleteSecretRequest,
            "secretmanager.secrets.delete",
        ),
        r(
            "POST",
            (one % "parent") + ":addVersion",
            add_version,
            sm.AddSecretVersionRequest,
            "secretmanager.versions.add",
            body="*",
        ),
        r(
            "GET",
            version + ":access",
            access_version,
            sm.AccessSecretVersionRequest,
            "secretmanager.versions.access",
        ),
        r("GET", version, get_version, sm.GetSecretVersionRequest, "secretmanager.versions.get"),
        r(
            "GET",
            (one % "resource") + ":getIamPolicy",
            get_iam_policy,
            iam_policy_pb2.GetIamPolicyRequest,
            "secretmanager.secrets.getIamPolicy",
        ),
        r(
            "POST",
            (one % "resource") + ":setIamPolicy",
            set_iam_policy,
            iam_policy_pb2.SetIamPolicyRequest,
            "secretmanager.secrets.setIamPolicy",
            body="*",
        ),
    ]
