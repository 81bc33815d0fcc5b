"""RBAC object names need only be path segments, not DNS subdomains
(https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#path-segment-names):
seed 004's metrics-auth.yaml, verbatim, applies with the real kubectl."""

from __future__ import annotations

import pytest

from tests.sandbox.kube.kubectl import Kubectl, make_cluster, needs_kubectl

pytestmark = needs_kubectl

# Seed 004's metrics-auth.yaml (the Inference Gateway's metrics scraping), verbatim.
METRICS_AUTH = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: inference-gateway-metrics-reader
rules:
- nonResourceURLs:
  - /metrics
  verbs:
  - get
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: inference-gateway-sa-metrics-reader
  namespace: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: inference-gateway-sa-metrics-reader-role-binding
  namespace: default
subjects:
- kind: ServiceAccount
  name: inference-gateway-sa-metrics-reader
  namespace: default
roleRef:
  kind: ClusterRole
  name: inference-gateway-metrics-reader
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: v1
kind: Secret
metadata:
  name: inference-gateway-sa-metrics-reader-secret
  namespace: default
  annotations:
    kubernetes.io/service-account.name: inference-gateway-sa-metrics-reader
type: kubernetes.io/service-account-token
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: inference-gateway-sa-metrics-reader-secret-read
rules:
- resources:
  - secrets
  apiGroups:
  - ""
  verbs:
  - get
  - list
  - watch
  resourceNames:
  - inference-gateway-sa-metrics-reader-secret
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: gmp-system:collector:inference-gateway-sa-metrics-reader-secret-read
  namespace: default
roleRef:
  name: inference-gateway-sa-metrics-reader-secret-read
  kind: ClusterRole
  apiGroup: rbac.authorization.k8s.io
subjects:
- name: collector
  namespace: gmp-system
  kind: ServiceAccount
"""
COLLECTOR_BINDING = "gmp-system:collector:inference-gateway-sa-metrics-reader-secret-read"


@pytest.fixture
def kubectl(sandbox, sandbox_process, tmp_path) -> Kubectl:
    return make_cluster(sandbox_process.url, tmp_path)


def test_seed_004_metrics_auth_applies_with_its_colon_named_binding(kubectl):
    manifest = kubectl.kubeconfig.parent / "metrics-auth.yaml"
    manifest.write_text(METRICS_AUTH)
    out = kubectl.out("apply", "-f", str(manifest))
    assert f"clusterrolebinding.rbac.authorization.k8s.io/{COLLECTOR_BINDING} created" in out
    binding = kubectl.json("get", "clusterrolebinding", COLLECTOR_BINDING)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "collector", "namespace": "gmp-system"}
    ]


def test_a_name_that_is_no_path_segment_is_refused(kubectl):
    # "%" cannot be in a path segment name; the API server says so.
    manifest = kubectl.kubeconfig.parent / "bad.yaml"
    manifest.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata:\n  name: reader%1\nrules: []\n"
    )
    refused = kubectl.refused("apply", "-f", str(manifest))
    assert "may not contain '%'" in refused
