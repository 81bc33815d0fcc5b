"""The project the sandbox plays, and what an operator set up in it once.

README (Least privilege) has an operator grant the portal's identity a few project roles,
serviceAccountUser on the build account and on the default compute account that services
without a service account of their own run as, and the build account its roles. Service
Usage and Cloud Quotas answer from here too (sandbox/project_apis/), and GKE's regional
Gateways look for a proxy-only subnet here (sandbox/kube/gateway.py). `/_sandbox/iam`
reads and changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.core.config import Config

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
# Where Cloud Run offers an L4 (deployments/catalog.py), each given some quota here.
GPU_REGIONS = ("asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east4")
# A region's L4 quota until /_sandbox/iam changes it (sandbox/project_apis reports it).
DEFAULT_GPU_QUOTA = 3


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
    # which GKE's regional Gateways need: those Config names (none unless the sandbox was
    # started with some), until /_sandbox/iam changes them.
    proxy_only_subnets: set[str] = field(default_factory=set)
    # The build account's project roles: what README has an operator grant it.
    builder_roles: set[str] = field(default_factory=set)

    def reset(self, config: Config) -> None:
        self.portal_roles = set(PORTAL_ROLES)
        self.act_as = {compute_account(config), builder_account(config)}
        self.disabled_services = set()
        self.gpu_quota = dict.fromkeys(GPU_REGIONS, DEFAULT_GPU_QUOTA)
        self.proxy_only_subnets = set(config.proxy_only_subnets)
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
