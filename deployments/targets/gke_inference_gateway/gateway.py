"""The Inference Gateway's objects: what `helm install ... inferencepool --version v1.0.0
--set provider.name=gke` renders, applied natively (no helm at run time), then an
InferenceObjective per model name, the Gateway and the HTTPRoute.

From the chart (reference/gke.md 3.3): the InferencePool; the endpoint picker (EPP) as a
Deployment `<pool>-epp` with its ServiceAccount, Role (pods, inferencepools,
inferenceobjectives), ClusterRole for token and access reviews, ConfigMap (its plugins)
and Service; and for GKE a HealthCheckPolicy and a GCPBackendPolicy on the pool. The
InferenceObjective is `inference.networking.x-k8s.io/v1alpha2`, as the v1.0.0 CRD serves
it: seed 004's `inference.networking.k8s.io/v1alpha1` does not exist, and a cluster
refuses it. The Gateway is regional internal (`gke-l7-rilb`) unless an external one was
allowed; both classes need a proxy-only subnet in the region.
"""

from dataclasses import dataclass
from typing import Any

import yaml

from deployments.targets.gke_inference_gateway import versions
from deployments.targets.gke_inference_gateway.manifests import (
    PORT,
    meta,
    rbac_object,
    role_ref,
    service_account_subject,
)

POOL_API = "inference.networking.k8s.io/v1"
OBJECTIVE_API = "inference.networking.x-k8s.io/v1alpha2"
GATEWAY_API = "gateway.networking.k8s.io/v1"
GKE_POLICY_API = "networking.gke.io/v1"
EPP_GRPC, EPP_HEALTH, EPP_METRICS = 9002, 9003, 9090
INTERNAL, EXTERNAL = "gke-l7-rilb", "gke-l7-regional-external-managed"
# The request header the v1.0 endpoint picker reads a request's InferenceObjective from
# (pkg/epp/metadata/consts.go ObjectiveKey; it replaced the model name as the key in
# kubernetes-sigs/gateway-api-inference-extension#1242, before v1.0.0). A request without
# it is served at the default priority, 0.
OBJECTIVE_HEADER = "x-gateway-inference-objective"
# The chart's default scheduling: queue depth, KV-cache use, prefix-cache hits.
PLUGINS = ("queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer")


@dataclass(frozen=True)
class Objective:
    """An InferenceObjective: a model name clients ask for, and its priority."""

    name: str
    priority: int


@dataclass(frozen=True)
class InferenceGateway:
    pool: str  # the InferencePool's (and the chart release's) name
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    gateway_class: str = INTERNAL
    # A pool rolled out before names carried tags (gke/names.py): its objectives were named
    # after the served name alone, and keep that name.
    legacy_names: bool = False

    @property
    def epp(self) -> str:
        """The picker's name; the pool's is unique to its deployment and leaves room for
        it within a DNS label (plan.py BASE_NAME_MAX)."""
        return f"{self.pool}-epp"


def inference_pool(gw: InferenceGateway) -> dict[str, Any]:
    return {
        "apiVersion": POOL_API,
        "kind": "InferencePool",
        "metadata": meta(gw.pool, gw.labels, gw.namespace),
        "spec": {
            "selector": {"matchLabels": dict(gw.selector)},
            "targetPorts": [{"number": PORT}],
            "endpointPickerRef": {"name": gw.epp, "port": {"number": EPP_GRPC}},
        },
    }


def _epp_config(gw: InferenceGateway) -> dict[str, Any]:
    config = {
        "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": [{"type": p} for p in PLUGINS],
        "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": p} for p in PLUGINS]}],
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(gw.epp, gw.labels, gw.namespace),
        "data": {"default-plugins.yaml": yaml.safe_dump(config, sort_keys=False)},
    }


def _epp_rbac(gw: InferenceGateway) -> list[dict[str, Any]]:
    """Its account may watch pods and the pool's objects, and review tokens and access
    (the chart's rbac.yaml); the cluster-wide names carry the namespace, to stay apart."""
    watch = ["get", "list", "watch"]
    subject = [service_account_subject(gw.epp, gw.namespace)]
    wide = f"{gw.namespace}-{gw.epp}"
    here = meta(gw.epp, gw.labels, gw.namespace)
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": here},
        rbac_object(
            "Role",
            here,
            rules=[
                {
                    "apiGroups": ["inference.networking.x-k8s.io"],
                    "resources": ["inferenceobjectives"],
                    "verbs": watch,
                },
                {
                    "apiGroups": ["inference.networking.k8s.io"],
                    "resources": ["inferencepools"],
                    "verbs": watch,
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": watch},
            ],
        ),
        rbac_object("RoleBinding", here, subjects=subject, roleRef=role_ref("Role", gw.epp)),
        rbac_object(
            "ClusterRole",
            meta(wide, gw.labels),
            rules=[
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["tokenreviews"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["subjectaccessreviews"],
                    "verbs": ["create"],
                },
            ],
        ),
        rbac_object(
            "ClusterRoleBinding",
            meta(wide, gw.labels),
            subjects=subject,
            roleRef=role_ref("ClusterRole", wide),
        ),
    ]


def _epp_deployment(gw: InferenceGateway) -> dict[str, Any]:
    health = {"grpc": {"port": EPP_HEALTH, "service": "inference-extension"}}
    # fmt: skip below: each flag beside its value, as on the chart's command line.
    args = [
        "--pool-name", gw.pool,
        "--pool-namespace", gw.namespace,
        "--zap-encoder", "json",
        "--config-file", "/config/default-plugins.yaml",
        # v1.0's default is vLLM's old name, which the pinned vLLM no longer emits.
        "--kv-cache-usage-percentage-metric", versions.KV_CACHE_METRIC,
    ]  # fmt: skip
    container = {
        "name": "epp",
        "image": versions.EPP_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [
            {"name": "grpc", "containerPort": EPP_GRPC},
            {"name": "grpc-health", "containerPort": EPP_HEALTH},
            {"name": "metrics", "containerPort": EPP_METRICS},
        ],
        "livenessProbe": {**health, "initialDelaySeconds": 5, "periodSeconds": 10},
        "readinessProbe": {**health, "initialDelaySeconds": 5, "periodSeconds": 10},
        "volumeMounts": [{"name": "plugins-config-volume", "mountPath": "/config"}],
    }
    selector = {"inferencepool": gw.epp}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(gw.epp, gw.labels, gw.namespace),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, **gw.labels}},
                "spec": {
                    "serviceAccountName": gw.epp,
                    "terminationGracePeriodSeconds": 130,
                    "containers": [container],
                    "volumes": [{"name": "plugins-config-volume", "configMap": {"name": gw.epp}}],
                },
            },
        },
    }


def _epp_service(gw: InferenceGateway) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(gw.epp, gw.labels, gw.namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": {"inferencepool": gw.epp},
            "ports": [
                {
                    "name": "grpc-ext-proc",
                    "protocol": "TCP",
                    "port": EPP_GRPC,
                    "appProtocol": "http2",
                },
                {"name": "http-metrics", "protocol": "TCP", "port": EPP_METRICS},
            ],
        },
    }


def _target(gw: InferenceGateway) -> dict[str, str]:
    return {"group": POOL_API.split("/")[0], "kind": "InferencePool", "name": gw.pool}


def gke_policies(gw: InferenceGateway) -> list[dict[str, Any]]:
    """The chart's GKE objects: health checks on vLLM's /health (the seed's own policy),
    and a backend timeout long enough for a long generation."""
    check = {"type": "HTTP", "httpHealthCheck": {"requestPath": "/health", "port": PORT}}
    return [
        {
            "apiVersion": GKE_POLICY_API,
            "kind": "HealthCheckPolicy",
            "metadata": meta(gw.pool, gw.labels, gw.namespace),
            "spec": {
                "targetRef": _target(gw),
                "default": {"timeoutSec": 2, "checkIntervalSec": 2, "config": check},
            },
        },
        {
            "apiVersion": GKE_POLICY_API,
            "kind": "GCPBackendPolicy",
            "metadata": meta(gw.pool, gw.labels, gw.namespace),
            "spec": {
                "targetRef": _target(gw),
                "default": {"timeoutSec": 300, "logging": {"enabled": True}},
            },
        },
    ]


def chart_objects(gw: InferenceGateway) -> list[dict[str, Any]]:
    """What the v1.0.0 chart renders for provider gke, in apply order."""
    return [
        _epp_config(gw),
        *_epp_rbac(gw),
        _epp_deployment(gw),
        _epp_service(gw),
        inference_pool(gw),
        *gke_policies(gw),
    ]


def objective(
    gw: InferenceGateway, wanted: Objective, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The InferenceObjective for one model name (base model or adapter), owned by the
    deployment whose labels it carries (an adapter's own, else the pool's).

    Clients pick an objective by its name (the `x-gateway-inference-objective` header),
    within the pool's namespace, which a team's deployments share: the name is the pool's
    (unique to its deployment) and the served name made safe, as a DNS subdomain allows
    (a Hugging Face id's `/` cannot be in one)."""
    return {
        "apiVersion": OBJECTIVE_API,
        "kind": "InferenceObjective",
        "metadata": meta(objective_ref(gw, wanted.name), labels or gw.labels, gw.namespace),
        "spec": {
            "priority": wanted.priority,
            "poolRef": {"group": POOL_API.split("/")[0], "kind": "InferencePool", "name": gw.pool},
        },
    }


def objective_ref(gw: InferenceGateway, model: str) -> str:
    """The InferenceObjective's name for a model name the pool serves."""
    if gw.legacy_names:
        return objective_name(model)
    return f"{gw.pool}-{objective_name(model)}"[:253].rstrip("-")


def objective_headers(gw: InferenceGateway, model: str) -> dict[str, str]:
    """What a request for `model` carries so the picker classifies it under its objective."""
    return {OBJECTIVE_HEADER: objective_ref(gw, model)} if model else {}


def objective_name(model: str) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in model.lower()).strip("-")
    return "-".join(filter(None, safe.split("-")))[:253]


def gateway(gw: InferenceGateway) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": meta(gw.pool, gw.labels, gw.namespace),
        "spec": {
            "gatewayClassName": gw.gateway_class,
            "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
        },
    }


def http_route(gw: InferenceGateway) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": meta(gw.pool, gw.labels, gw.namespace),
        "spec": {
            "parentRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.pool}
            ],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [_target(gw)],
                }
            ],
        },
    }
