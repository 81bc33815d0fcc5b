"""IAM policies attached to resources: read-modify-write guarded by etags."""

from __future__ import annotations

import re
import secrets

from google.iam.v1 import policy_pb2

from sandbox.errors import ApiError, invalid

RUN_ROLES = frozenset(
    {
        "roles/run.invoker",
        "roles/run.servicesInvoker",
        "roles/run.admin",
        "roles/run.developer",
        "roles/run.viewer",
        "roles/run.sourceDeveloper",
        "roles/owner",
        "roles/editor",
        "roles/viewer",
    }
)
MEMBER = re.compile(
    r"allUsers|allAuthenticatedUsers"
    r"|(user|serviceAccount|group):[^@\s]+@[^@\s]+\.[^@\s]+"
    r"|domain:[a-z0-9.-]+\.[a-z]+"
    r"|(principal|principalSet)://\S+"
    r"|(deleted:)?(user|serviceAccount|group):[^@\s]+@[^@\s]+\?uid=\d+"
)
# The etag Google gives a policy that has never been set.
EMPTY_ETAG = b"\x00\x20\x01"


def empty_policy() -> policy_pb2.Policy:
    return policy_pb2.Policy(etag=EMPTY_ETAG)


def replace_policy(
    current: policy_pb2.Policy, new: policy_pb2.Policy, roles: frozenset[str]
) -> policy_pb2.Policy:
    """Validate `new` against the roles this resource supports and the current etag."""
    if new.etag and new.etag != current.etag:
        raise ApiError(
            "ABORTED",
            "There were concurrent policy changes. Please retry the whole read-modify-write "
            "with exponential backoff. The request's ETag '"
            + _b64(new.etag)
            + "' did not match the current policy's ETag '"
            + _b64(current.etag)
            + "'.",
        )
    if new.version not in (0, 1, 3):
        raise invalid(f"Invalid policy version {new.version}.", "policy.version")
    seen = set()
    for binding in new.bindings:
        if binding.role not in roles:
            raise invalid(
                f"Role {binding.role} is not supported for this resource.", "policy.bindings"
            )
        if binding.HasField("condition") and new.version != 3:
            raise invalid("Conditional role bindings require policy version 3.", "policy.version")
        if not binding.members:
            raise invalid(f"Binding for {binding.role} has no members.", "policy.bindings")
        for member in binding.members:
            if not MEMBER.fullmatch(member):
                raise invalid(
                    f"Invalid principal: {member}. Principals must be of the form "
                    "'type:id', e.g. 'serviceAccount:sa@project.iam.gserviceaccount.com'.",
                    "policy.bindings.members",
                )
        key = (binding.role, binding.condition.SerializeToString())
        if key in seen:
            raise invalid(f"Duplicate binding for role {binding.role}.", "policy.bindings")
        seen.add(key)
    stored = policy_pb2.Policy()
    stored.CopyFrom(new)
    stored.version = 3 if new.version == 3 else 1
    stored.etag = b"BwY" + secrets.token_bytes(5)
    return stored


# Roles that carry run.routes.invoke.
INVOKER_ROLES = frozenset(
    {
        "roles/run.invoker",
        "roles/run.servicesInvoker",
        "roles/run.admin",
        "roles/owner",
        "roles/editor",
    }
)


def allows_invoke(policy: policy_pb2.Policy, email: str) -> bool:
    wanted = {"allUsers", f"serviceAccount:{email}", f"user:{email}"}
    if email:
        wanted.add("allAuthenticatedUsers")
    return any(b.role in INVOKER_ROLES and wanted.intersection(b.members) for b in policy.bindings)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()
