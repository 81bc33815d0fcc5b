"""Kubernetes steps the GKE targets share: apply one object, delete one object.

A step carries the whole manifest (what the approver reads, what the snapshot pins) and
the cluster it goes to, by Hangar's id for it (clusters.Cluster): the worker looks up
the cluster's endpoint and CA when it runs the step, so a cluster whose control plane
moved is reached where it is now.
"""

import json
from typing import Any

from runbook.ownership import owner_keys_of
from runbook.plan import ApiRequest, Deadline, Step

# `kubectl apply --server-side` under Hangar's field manager: what gcp/kube.py does.
APPLY_FLAGS = "--server-side --field-manager=hangar --force-conflicts"
# GKE maps IAM to Kubernetes RBAC: container.developer may apply and delete namespaced
# objects; namespaces, quotas and cluster-scoped kinds want container.admin
# (https://cloud.google.com/kubernetes-engine/docs/how-to/iam#predefined).
DEVELOPER = "roles/container.developer"
ADMIN = "roles/container.admin"
ADMIN_KINDS = frozenset(
    {
        "Namespace",
        "ResourceQuota",
        "ComputeClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
    }
)


def object_path(manifest: dict[str, Any]) -> str:
    """The object's REST path on the API server (core kinds under /api, others /apis)."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    meta = manifest["metadata"]
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    plural = _PLURALS[kind]
    scope = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
    return f"{prefix}{scope}/{plural}/{meta['name']}"


_PLURALS = {
    "Namespace": "namespaces",
    "ServiceAccount": "serviceaccounts",
    "ResourceQuota": "resourcequotas",
    "Service": "services",
    "Deployment": "deployments",
    "ComputeClass": "computeclasses",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Role": "roles",
    "RoleBinding": "rolebindings",
    "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
    "CustomResourceDefinition": "customresourcedefinitions",
    "InferencePool": "inferencepools",
    "InferenceObjective": "inferenceobjectives",
    "HealthCheckPolicy": "healthcheckpolicies",
    "GCPBackendPolicy": "gcpbackendpolicies",
    "Gateway": "gateways",
    "HTTPRoute": "httproutes",
}


def _where(manifest: dict[str, Any]) -> str:
    namespace = manifest["metadata"].get("namespace")
    return f" -n {namespace}" if namespace else ""


def _ref(manifest: dict[str, Any]) -> dict[str, Any]:
    """Where the object is, and whose it must be: an object met under its name is adopted
    or deleted only when its labels name the same owner (runbook/executors/kube.py)."""
    meta = manifest["metadata"]
    return {
        "api_version": manifest["apiVersion"],
        "kind": manifest["kind"],
        "name": meta["name"],
        "namespace": meta.get("namespace"),
        "owner": owner_keys_of(meta.get("labels")),
    }


def apply_step(
    *,
    key: str,
    title: str,
    cluster: int,
    manifest: dict[str, Any],
    create: bool = True,
    missing_ok: bool = False,
) -> Step:
    """Server-side apply the object. `create=False` for another deployment's object this
    one contributes to (its base's adapter list): only updated while it is there, never
    made again once its owner has deleted it; `missing_ok` when its absence is fine (an
    adapter unloaded from a base already gone)."""
    kind = manifest["kind"]
    return Step(
        key=key,
        title=title,
        action="kube.apply",
        request=ApiRequest("kubernetes", "PATCH", object_path(manifest), manifest),
        cli=f"kubectl apply {APPLY_FLAGS} -f {kind.lower()}-{manifest['metadata']['name']}.yaml",
        required_role=ADMIN if kind in ADMIN_KINDS else DEVELOPER,
        params={"cluster": cluster, **_ref(manifest), **_contributes(create, missing_ok)},
    )


def _contributes(create: bool, missing_ok: bool) -> dict[str, bool]:
    if create:
        return {}
    return {"create": False, "missing_ok": True} if missing_ok else {"create": False}


def delete_step(*, key: str, title: str, cluster: int, manifest: dict[str, Any]) -> Step:
    """Delete the object and wait until it is gone (its finalizers have run)."""
    kind = manifest["kind"]
    return Step(
        key=key,
        title=title,
        action="kube.delete",
        request=ApiRequest("kubernetes", "DELETE", object_path(manifest)),
        cli=(
            f"kubectl delete {kind.lower()} {manifest['metadata']['name']}{_where(manifest)} "
            "--cascade=foreground --wait"
        ),
        required_role=ADMIN if kind in ADMIN_KINDS else DEVELOPER,
        params={"cluster": cluster, **_ref(manifest)},
    )


# How long a model server's rollout may take: a GPU node, the image and the weights.
ROLLOUT_DEADLINE = Deadline(
    1800,
    "seed 003's kubectl wait --timeout=1800s for a GPU node, the image and the weights; "
    "Kubernetes reports a stalled rollout earlier, after progressDeadlineSeconds "
    "(600 s by default)",
)


def wait_available_step(
    *, cluster: int, namespace: str, name: str, selector: dict[str, str]
) -> Step:
    """Wait (polled) until the Deployment is Available, for up to ROLLOUT_DEADLINE."""
    return Step(
        key="wait_available",
        title=f"Wait for {name} to be Available (GPU node, image, weights)",
        action="kube.wait_available",
        request=ApiRequest(
            "kubernetes", "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        ),
        cli=(
            f"kubectl -n {namespace} wait --for=condition=Available "
            f"--timeout={ROLLOUT_DEADLINE.seconds:.0f}s deployment/{name}"
        ),
        required_role=DEVELOPER,
        params={
            "cluster": cluster,
            "namespace": namespace,
            "name": name,
            "selector": selector,
            "deadline": ROLLOUT_DEADLINE.as_param(),
        },
    )


def proxy_call_step(
    *,
    key: str,
    title: str,
    action: str,
    cluster: int,
    namespace: str,
    service: str,
    port: int,
    path: str,
    body: dict[str, Any] | None = None,
) -> Step:
    """A call to the model server through the API server's service proxy: no load
    balancer, the portal's Google credentials (gcp/kube.py proxy)."""
    proxied = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{path}"
    if body is None:
        cli = f"kubectl get --raw '{proxied}'"
    else:
        cli = (
            'curl -H "Authorization: Bearer $(gcloud auth print-access-token)" '
            f"-H 'Content-Type: application/json' -d '{json.dumps(body)}' "
            f"--cacert cluster-ca.pem https://CLUSTER_ENDPOINT{proxied}"
        )
    return Step(
        key=key,
        title=title,
        action=action,
        request=ApiRequest("kubernetes", "POST" if body else "GET", proxied, body),
        cli=cli,
        required_role=DEVELOPER,
        params={"cluster": cluster},
    )
