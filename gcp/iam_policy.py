"""The one IAM read-modify-write every adapter uses (Cloud Run, Secret Manager, Storage).

The edit works on the policy's JSON form (`{"version", "etag", "bindings": [{"role",
"members", "condition"}]}`), which both google.iam.v1.Policy and the storage client's
Policy convert to and from, so the binding rule is written once:

- Hangar owns only the unconditional binding of a role. A binding with a condition was
  put there by someone else for a reason (a time-boxed grant, say) and is never added to
  or removed from; if only a conditional binding exists, a new unconditional one is made.
- The policy is read as version 3: a version 1 read hides conditions behind renamed roles
  (https://cloud.google.com/iam/docs/troubleshooting-withcond), and written as version 3
  whenever it has a condition, since Google refuses conditions in a version 1 policy
  (https://cloud.google.com/iam/docs/policies#versions).
- The write carries the etag that was read, so a concurrent change makes Google answer
  ABORTED (409/412 for Storage), which the runner retries, instead of one side being lost.
"""

from collections.abc import Callable, Iterable
from typing import Any

from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
from google.protobuf import json_format

from gcp.clients import NO_RETRY, call_timeout

PolicyJson = dict[str, Any]
POLICY_VERSION = 3


def edit_members(
    policy: PolicyJson, *, role: str, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> bool:
    """Remove then add members in `role`'s unconditional binding, in place; True if changed."""
    bindings: list[dict[str, Any]] = policy.setdefault("bindings", [])
    ours = [b for b in bindings if b.get("role") == role and "condition" not in b]
    changed = False
    for member in remove:
        for binding in ours:
            if member in binding.get("members", []):
                binding["members"] = [m for m in binding["members"] if m != member]
                changed = True
    for member in add:
        if any(member in b.get("members", []) for b in ours):
            continue
        if not ours:
            ours.append({"role": role, "members": []})
            bindings.append(ours[0])
        ours[0]["members"] = [*ours[0].get("members", []), member]
        changed = True
    # An emptied binding goes: Google refuses a binding without members.
    policy["bindings"] = [b for b in bindings if b.get("members") or "condition" in b]
    return changed


def read_modify_write(
    read: Callable[[], PolicyJson],
    write: Callable[[PolicyJson], object],
    *,
    role: str,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> bool:
    """Read the policy, edit `role`'s unconditional binding, write it back if it changed.

    `read` must ask for policy version 3 and `write` must send the etag it was given;
    returns True if the policy changed (and was written).
    """
    policy = read()
    if not edit_members(policy, role=role, add=add, remove=remove):
        return False
    if any("condition" in binding for binding in policy["bindings"]):
        policy["version"] = POLICY_VERSION
    write(policy)
    return True


def rpc_policy_io(
    client: Any, resource: str
) -> tuple[Callable[[], PolicyJson], Callable[[PolicyJson], object]]:
    """read/write for the google.iam.v1 get/setIamPolicy methods of a GAPIC client."""

    def read() -> PolicyJson:
        policy = client.get_iam_policy(
            request=iam_policy_pb2.GetIamPolicyRequest(
                resource=resource,
                options=options_pb2.GetPolicyOptions(requested_policy_version=POLICY_VERSION),
            ),
            retry=NO_RETRY,
            timeout=call_timeout(),
        )
        return json_format.MessageToDict(policy)

    def write(policy: PolicyJson) -> object:
        return client.set_iam_policy(
            request=iam_policy_pb2.SetIamPolicyRequest(
                resource=resource, policy=json_format.ParseDict(policy, policy_pb2.Policy())
            ),
            retry=NO_RETRY,
            timeout=call_timeout(),
        )

    return read, write
