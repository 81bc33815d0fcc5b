"""IAM on a service account as a resource: who may act as it.

projects.serviceAccounts.getIamPolicy / setIamPolicy
(https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/setIamPolicy).
Workload Identity is a binding here: `roles/iam.workloadIdentityUser` for
`serviceAccount:POOL[NAMESPACE/KSA]` lets that Kubernetes account act as this one
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity). A policy
belongs to the account itself: a re-created account with the same e-mail starts with
none, as on Google (where it also gets a new unique id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.routing import ApiCall, Route
from sandbox.iam import act_as, policies
from sandbox.iam.service_accounts import AccountStore

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
ACCOUNT_ROLES = frozenset(
    {
        WORKLOAD_IDENTITY_USER,
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountAdmin",
        "roles/owner",
        "roles/editor",
        "roles/viewer",
    }
)


@dataclass
class AccountPolicies:
    # By e-mail, with the account the policy was set on: a later account of that e-mail
    # is another account.
    by_email: dict[str, tuple[Message, policy_pb2.Policy]] = field(default_factory=dict)

    def clear(self) -> None:
        self.by_email.clear()

    def get(self, account: Message) -> policy_pb2.Policy:
        held = self.by_email.get(account.email)
        if held is None or held[0] is not account:
            return policies.empty_policy()
        return held[1]

    def put(self, account: Message, policy: policy_pb2.Policy) -> None:
        self.by_email[account.email] = (account, policy)


def _store(call_or_state: Any) -> AccountPolicies:
    state = getattr(call_or_state, "state", call_or_state)
    return state.store(AccountPolicies)


def _account(call: ApiCall) -> Message:
    ident = call.fields["resource"].rsplit("/serviceAccounts/", 1)[-1]
    accounts = call.state.store(AccountStore).accounts
    account = accounts.get(ident) or next(
        (a for a in accounts.values() if a.unique_id == ident), None
    )
    if account is None:
        raise errors.not_found(f"Service account {ident} does not exist.")
    return account


def policy_of(state: Any, email: str) -> policy_pb2.Policy:
    account = state.store(AccountStore).accounts.get(email)
    if account is None:
        return policies.empty_policy()
    return _store(state).get(account)


def may_act_as(state: Any, email: str, member: str) -> bool:
    """Whether `member` holds workloadIdentityUser on the service account `email`."""
    return any(
        b.role == WORKLOAD_IDENTITY_USER and member in b.members
        for b in policy_of(state, email).bindings
    )


def get_iam_policy(call: ApiCall) -> Message:
    account = _account(call)
    request = call.body(iam_policy_pb2.GetIamPolicyRequest())
    return policies.read_policy(_store(call).get(account), request.options.requested_policy_version)


def set_iam_policy(call: ApiCall) -> Message:
    account = _account(call)
    request = call.body(iam_policy_pb2.SetIamPolicyRequest())
    act_as.check_account_usable(call.state, account.email)
    act_as.check_usable(call.state, [m for b in request.policy.bindings for m in b.members])
    updated = policies.replace_policy(_store(call).get(account), request.policy, ACCOUNT_ROLES)
    _store(call).put(account, updated)
    return updated


def routes() -> list[Route]:
    svc = "iam.googleapis.com"
    resource = "/v1/{resource=projects/*/serviceAccounts/*}"
    return [
        Route(
            "POST",
            resource + ":getIamPolicy",
            get_iam_policy,
            iam_policy_pb2.GetIamPolicyRequest,
            "iam.serviceAccounts.getIamPolicy",
            svc,
            frozenset(),
            body="*",
        ),
        Route(
            "POST",
            resource + ":setIamPolicy",
            set_iam_policy,
            iam_policy_pb2.SetIamPolicyRequest,
            "iam.serviceAccounts.setIamPolicy",
            svc,
            frozenset(),
            body="*",
        ),
    ]
