"""IAM policies attached to resources: read-modify-write guarded by etags."""

from __future__ import annotations

import hashlib
import re
import secrets

from google.iam.v1 import policy_pb2

from sandbox.core.errors import ApiError, invalid

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
    # A Kubernetes service account through a GKE workload pool (Workload Identity).
    r"|serviceAccount:[a-z0-9.:-]+\.svc\.id\.goog\[[a-z0-9-]+/[a-z0-9-]+\]"
    r"|(principal|principalSet)://\S+"
    r"|(deleted:)?(user|serviceAccount|group):[^@\s]+@[^@\s]+\?uid=\d+"
)
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
# The etag Google gives a policy that has never been set.
EMPTY_ETAG = b"\x00\x20\x01"
# Conditional role bindings exist only in version 3 policies. Per
# https://cloud.google.com/iam/docs/policies#versions, if you use version 1 with a policy
# that has conditional role bindings, the conditions are not shown, and the Policy.version
# field doc adds that adding, changing or removing any binding of a policy with conditions
# must say version 3 (only a write without the etag may overwrite it as version 1, and
# then every condition is lost). So such a write is refused as INVALID_ARGUMENT, and a
# read that does not ask for 3 gets the version 1 view.
VALID_VERSIONS = (0, 1, 3)


def empty_policy() -> policy_pb2.Policy:
    return policy_pb2.Policy(etag=EMPTY_ETAG)


def has_conditions(policy: policy_pb2.Policy) -> bool:
    return any(binding.HasField("condition") for binding in policy.bindings)


def read_policy(stored: policy_pb2.Policy, requested: int) -> policy_pb2.Policy:
    """The policy as getIamPolicy answers it for options.requestedPolicyVersion."""
    if requested not in VALID_VERSIONS:
        raise invalid(
            f"Invalid requested policy version {requested}. Valid values are 0, 1, and 3.",
            "options.requestedPolicyVersion",
        )
    view = policy_pb2.Policy()
    view.CopyFrom(stored)
    if requested == 3 or not has_conditions(stored):
        return view
    # What a version 1 reader sees: the role renamed, the condition hidden
    # (https://cloud.google.com/iam/docs/troubleshooting-withcond).
    view.version = 1
    for binding in view.bindings:
        if binding.HasField("condition"):
            digest = hashlib.sha256(binding.condition.SerializeToString(deterministic=True))
            binding.role = f"{binding.role}_withcond_{digest.hexdigest()[:20]}"
            binding.ClearField("condition")
    return view


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
    if new.version not in VALID_VERSIONS:
        raise invalid(f"Invalid policy version {new.version}.", "policy.version")
    if new.version != 3 and (has_conditions(new) or (new.etag and has_conditions(current))):
        raise invalid(
            "Policy version 3 is required for a policy with conditional role bindings; "
            f"got version {new.version}.",
            "policy.version",
        )
    seen = set()
    for binding in new.bindings:
        if binding.role not in roles:
            raise invalid(
                f"Role {binding.role} is not supported for this resource.", "policy.bindings"
            )
        if binding.HasField("condition"):
            _check_condition(binding)
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
    # Google answers with the lowest version that holds the policy.
    stored.version = 3 if has_conditions(new) else 1
    stored.etag = b"BwY" + secrets.token_bytes(5)
    return stored


def _check_condition(binding: policy_pb2.Binding) -> None:
    # https://cloud.google.com/iam/docs/conditions-overview: the title and the expression
    # are required, and no condition may go with a basic role or with a public principal.
    if not binding.condition.title or not binding.condition.expression:
        raise invalid(
            f"Condition for {binding.role} needs a title and an expression.",
            "policy.bindings.condition",
        )
    if binding.role in BASIC_ROLES:
        raise invalid(f"Conditions cannot be used with {binding.role}.", "policy.bindings")
    public = PUBLIC_MEMBERS.intersection(binding.members)
    if public:
        raise invalid(
            f"Conditions cannot be used with {sorted(public)[0]}.", "policy.bindings.members"
        )


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
