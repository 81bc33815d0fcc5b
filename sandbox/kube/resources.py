"""The kinds the sandbox's Kubernetes API serves, its discovery documents, and its paths.

Discovery as the API server publishes it (/api, /apis, /api/v1, /apis/GROUP/VERSION:
https://kubernetes.io/docs/reference/using-api/api-concepts/#discovery-api), which is
what the client's DynamicClient reads to find a kind's path and scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name the resource: `deployments.apps`, `namespaces`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> dict[str, Any]:
        return {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
            **({"shortNames": list(self.short)} if self.short else {}),
        }


KINDS = (
    Kind("", "v1", "namespaces", "Namespace", False, ("ns",)),
    Kind("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    Kind("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",)),
    Kind("", "v1", "services", "Service", True, ("svc",)),
    Kind("", "v1", "pods", "Pod", True, ("po",)),
    Kind("", "v1", "nodes", "Node", False, ("no",)),
    Kind("", "v1", "events", "Event", True, ("ev",)),
    Kind("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Kind("", "v1", "secrets", "Secret", True),
    Kind("apps", "v1", "deployments", "Deployment", True, ("deploy",)),
    Kind("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",)),
    Kind("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Kind("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # GKE's ComputeClass (https://cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass).
    Kind("cloud.google.com", "v1", "computeclasses", "ComputeClass", False, ("ccc",)),
    # Custom resources of other kinds exist once their CRD is applied (custom_resources.py).
    Kind(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
    ),
)
# The subresources served (sandbox/kube/api.py), listed in discovery as the API server lists
# them; kubectl finds a Deployment's Scale kind there (`kubectl scale`).
SUBRESOURCES: dict[str, dict[str, dict[str, Any]]] = {
    "Deployment": {
        "scale": {
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }
    },
    "Pod": {"log": {"kind": "Pod", "verbs": ["get"]}},
}
BY_PLURAL = {(k.group, k.version, k.plural): k for k in KINDS}
BY_KIND = {(k.api_version, k.kind): k for k in KINDS}


def api_versions(endpoint: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": endpoint}],
    }


def _priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version priority: GA before beta before alpha, higher numbers first
    (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#version-priority)."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if m is None:
        return (3, 0, 0)
    level = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (level, -int(m.group(1)), -int(m.group(3) or 0))


def api_groups(kinds: Iterable[Kind]) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for k in kinds:
        if k.group and k.version not in groups.setdefault(k.group, []):
            groups[k.group].append(k.version)
    for versions in groups.values():
        versions.sort(key=_priority)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": name,
                "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
                "preferredVersion": {
                    "groupVersion": f"{name}/{versions[0]}",
                    "version": versions[0],
                },
            }
            for name, versions in groups.items()
        ],
    }


def resource_list(group: str, version: str, kinds: Iterable[Kind]) -> dict[str, Any] | None:
    kinds = [k for k in kinds if k.group == group and k.version == version]
    if not kinds:
        return None
    resources = []
    for k in kinds:
        resources.append(k.discovery())
        resources += [
            {"name": f"{k.plural}/{sub}", "singularName": "", "namespaced": k.namespaced, **extra}
            for sub, extra in SUBRESOURCES.get(k.kind, {}).items()
        ]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": kinds[0].api_version,
        "resources": resources,
    }


@dataclass(frozen=True)
class Target:
    kind: Kind
    namespace: str | None
    name: str | None
    subresource: str = ""


_PATH = re.compile(
    r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[a-z0-9.-]+)/(?P<gv>v[0-9a-z]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[a-z]+))?$"
)


def parse_path(path: str, kinds: Mapping[tuple[str, str, str], Kind]) -> Target | None:
    """What a resource path names (`kinds` by group, version, plural: what the server
    serves now); None when it names nothing this server serves."""
    m = _PATH.match(path)
    if m is None:
        # /api/v1/namespaces/NAME is the Namespace itself, not a namespaced collection.
        ns_self = re.match(r"^/api/v1/namespaces/([^/]+)$", path)
        if ns_self:
            return Target(BY_PLURAL[("", "v1", "namespaces")], None, ns_self.group(1))
        return None
    group, version = (m["g"], m["gv"]) if m["g"] else ("", m["cv"])
    kind = kinds.get((group, version, m["plural"]))
    if kind is None:
        return None
    if m["ns"] is not None and not kind.namespaced:
        return None
    return Target(kind, m["ns"], m["name"], m["sub"] or "")
