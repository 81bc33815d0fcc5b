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

What an operator sets up once (README, Least privilege): the portal's project roles, and
serviceAccountUser on the build account and on the default compute account that services
without a service account of their own run as. `/_sandbox/iam` reads and changes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core import errors
from sandbox.iam import account_policy

if TYPE_CHECKING:
    from sandbox.core.config import Config
    from sandbox.core.state import State

ACT_AS = "iam.serviceAccounts.actAs"
SERVICE_ACCOUNT_USER = "roles/iam.serviceAccountUser"
# Roles that carry iam.serviceAccounts.actAs.
ACT_AS_ROLES = frozenset({SERVICE_ACCOUNT_USER, "roles/owner", "roles/editor"})
# The least-privilege project roles README lists for the portal's identity.
PORTAL_ROLES = (
    "roles/run.admin",
    "roles/cloudbuild.builds.editor",
    "roles/artifactregistry.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/secretmanager.admin",
    "roles/storage.admin",
    "roles/container.admin",
)


# The build account's project roles README has an operator grant: push images, write logs.
BUILDER_ROLES = ("roles/artifactregistry.writer", "roles/logging.logWriter")
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


# Where Cloud Run offers an L4 (deployments/catalog.py), each given some quota here.
GPU_REGIONS = ("asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east4")


def compute_account(config: Config) -> str:
    return f"{config.project_number}-compute@developer.gserviceaccount.com"


def builder_account(config: Config) -> str:
    return f"hangar-builder@{config.project}.iam.gserviceaccount.com"


@dataclass
class ProjectSetup:
    portal_roles: set[str] = field(default_factory=set)
    # Accounts Hangar did not create that the portal holds serviceAccountUser on.
    act_as: set[str] = field(default_factory=set)
    # APIs switched off (Service Usage), and GPUs each region may hold (Cloud Quotas).
    disabled_services: set[str] = field(default_factory=set)
    gpu_quota: dict[str, int] = field(default_factory=dict)
    # Regions whose VPC has an active proxy-only subnet (purpose REGIONAL_MANAGED_PROXY),
    # which GKE's regional Gateways need: none until an operator makes one.
    proxy_only_subnets: set[str] = field(default_factory=set)
    # The build account's project roles: what README has an operator grant it.
    builder_roles: set[str] = field(default_factory=set)

    def reset(self, config: Config) -> None:
        self.portal_roles = set(PORTAL_ROLES)
        self.act_as = {compute_account(config), builder_account(config)}
        self.disabled_services = set()
        self.gpu_quota = dict.fromkeys(GPU_REGIONS, 3)
        self.proxy_only_subnets = set()
        self.builder_roles = set(BUILDER_ROLES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "portal_roles": sorted(self.portal_roles),
            "act_as": sorted(self.act_as),
            "disabled_services": sorted(self.disabled_services),
            "gpu_quota": dict(sorted(self.gpu_quota.items())),
            "proxy_only_subnets": sorted(self.proxy_only_subnets),
            "builder_roles": sorted(self.builder_roles),
        }

    def update(self, body: Any) -> None:
        """Replace what `body` names; ValueError says what is wrong."""
        if not isinstance(body, dict) or set(body) - set(self.as_dict()):
            raise ValueError(f"expected an object with some of {sorted(self.as_dict())}")
        quota = body.get("gpu_quota", self.gpu_quota)
        if not isinstance(quota, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in quota.values()
        ):
            raise ValueError("gpu_quota maps a region to a whole number of GPUs")
        lists = ("portal_roles", "act_as", "disabled_services", "proxy_only_subnets")
        for key in (*lists, "builder_roles"):
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} is a list of strings")
        self.portal_roles = set(body.get("portal_roles", self.portal_roles))
        self.act_as = set(body.get("act_as", self.act_as))
        self.disabled_services = set(body.get("disabled_services", self.disabled_services))
        self.gpu_quota = dict(quota)
        self.proxy_only_subnets = set(body.get("proxy_only_subnets", self.proxy_only_subnets))
        self.builder_roles = set(body.get("builder_roles", self.builder_roles))


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
    created = state.accounts.created.get(email)
    if created is not None and time.time() < created + state.config.account_propagation_delay:
        raise errors.invalid(f"Service account {email} does not exist.")
