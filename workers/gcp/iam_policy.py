"""Adding and removing one member of one role in an IAM policy, for any API's policy type.

Both are pure edits of a policy object in memory; the adapters read it, call these,
and write it back with its etag, so a concurrent change makes Google answer ABORTED.
"""

from typing import Any


def policy_add(policy: Any, *, role: str, member: str) -> bool:
    """Add `member` to `role` (a google.iam.v1 Policy); True if the policy changed."""
    binding = next((b for b in policy.bindings if b.role == role), None)
    if binding is None:
        binding = policy.bindings.add(role=role)
    if member in binding.members:
        return False
    binding.members.append(member)
    return True


def policy_remove(policy: Any, *, role: str, member: str) -> bool:
    """Remove `member` from `role`, dropping a binding left empty; True if it changed."""
    for binding in list(policy.bindings):
        if binding.role == role and member in binding.members:
            binding.members.remove(member)
            if not binding.members:
                policy.bindings.remove(binding)
            return True
    return False
