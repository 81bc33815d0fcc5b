"""Acting as a service account, and when a new one can be used, as Google enforces both.

- Deploying a Cloud Run service or starting a build that runs as a service account needs
  `iam.serviceAccounts.actAs` on that account, which roles/iam.serviceAccountUser grants
  (https://cloud.google.com/iam/docs/service-accounts-actas; Cloud Run:
  https://cloud.google.com/run/docs/configuring/services/service-identity#permissions;
  Cloud Build: https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts).
  The caller is the portal's identity (the account the metadata server issues tokens for).
- A new service account is not usable at once: "you might need to wait for 60 seconds or
  more before you use the service account ... read operations are eventually consistent"
  (https://cloud.google.com/iam/docs/service-accounts-create). For
  `account_propagation_delay` seconds a policy naming it is refused with the 400 Google
  sends, "Service account EMAIL does not exist.", and so is a grant on the account itself.

What an operator sets up once (README, Least privilege: the portal's project roles, and
serviceAccountUser on the build account and on the default compute account) is the
project's setup, sandbox/core/project.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox.core import errors
from sandbox.core.project import builder_account
from sandbox.iam import account_policy
from sandbox.iam.service_accounts import AccountStore

if TYPE_CHECKING:
    from sandbox.core.state import State

ACT_AS = "iam.serviceAccounts.actAs"
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"
# Roles that carry iam.serviceAccounts.actAs.
ACT_AS_ROLES = frozenset({SERVICE_ACCOUNT_USER, "roles/owner", "roles/editor"})
# Roles that carry artifactregistry.repositories.uploadArtifacts
# (https://cloud.google.com/artifact-registry/docs/access-control#roles).
UPLOAD_ROLES = frozenset(
    {
        "roles/artifactregistry.writer",
        "roles/artifactregistry.repoAdmin",
        "roles/artifactregistry.admin",
        "roles/owner",
        "roles/editor",
    }
)


def may_push(state: State, account: str) -> bool:
    """A build pushes with its own account's rights (Cloud Build: a user-specified service
    account needs Artifact Registry write, https://cloud.google.com/build/docs/
    securing-builds/configure-user-specified-service-accounts). Only the build account's
    project roles are modelled; a build without an account runs as Cloud Build's legacy
    account, which holds the writer role by default."""
    if account != builder_account(state.config):
        return True
    return bool(UPLOAD_ROLES & state.setup.builder_roles)


def check_act_as(state: State, email: str) -> None:
    """Refuse, as Google does, a call that would run something as `email`."""
    portal = f"serviceAccount:{state.config.service_account}"
    setup = state.setup
    if ACT_AS_ROLES & setup.portal_roles or email in setup.act_as:
        return
    policy = account_policy.policy_of(state, email)
    if any(b.role in ACT_AS_ROLES and portal in b.members for b in policy.bindings):
        return
    raise errors.permission_denied(
        ACT_AS, f"projects/-/serviceAccounts/{email}", "iam.googleapis.com"
    )


def check_usable(state: State, members: Any) -> None:
    """Refuse a policy that names a service account created too recently to be seen."""
    for member in members:
        if member.startswith("serviceAccount:"):
            check_account_usable(state, member.split(":", 1)[1])


def check_account_usable(state: State, email: str) -> None:
    created = state.store(AccountStore).created.get(email)
    if created is not None and time.time() < created + state.config.account_propagation_delay:
        raise errors.invalid(f"Service account {email} does not exist.")
