"""Seed 004's model server, corrected: pure functions from what a deployment asks to the
Kubernetes objects Hangar applies (the Hugging Face token's Secret, the adapters'
ConfigMap, vLLM's Deployment).

What differs from the seed, and why:
- The lora-syncer runs as a native sidecar: an init container with `restartPolicy:
  Always`. The seed lists it under `containers` followed by a `restartPolicy: Always`; on
  a regular container Kubernetes refuses that field ("may not be set for non-init
  containers"), on the pod it is only the default. Its ConfigMap is mounted as a
  directory (no subPath, or updates are never seen). vLLM is not started with
  `--api-key`: the syncer sends no credentials (reference/gke.md 3.5); the pod is reached
  only through the internal Gateway.
- Pinned images (versions.py) instead of `:latest` and `:main`.
- Everything lives in the team's namespace and is named after the deployment, cluster-wide
  objects included (the seed's fixed names would collide between deployments).
- No metrics RBAC and token (the seed's metrics-auth.yaml): they let GMP's collector scrape
  /metrics only through a PodMonitoring, which Hangar does not make (README.md says why);
  `retired_metrics_rbac` names what deployments rolled out before still hold.
- The lora-syncer gets no Hugging Face token: it only asks vLLM to load an adapter by its
  repo id, and vLLM downloads it with its own token.
- The pods are placed on the deployment's own node pool, and there are as many replicas
  as its GPUs hold (the seed asks for 3 replicas of one GPU each on one 2-GPU node).
- The Hugging Face token comes from the team's Secret Manager secret at rollout: the plan
  carries the Secret without data, and the step names the secret it is read from.
"""

from dataclasses import dataclass
from typing import Any

import yaml

from deployments.hf_catalog import HfModel
from deployments.targets.gke_inference_gateway import versions
from runbook.plan import MANAGED_BY_LABEL

PORT = 8000
TOKEN_KEY = "hf_api_token"  # noqa: S105 - the Secret's key name (the seed's), not a secret
# The seed's drain budget: preStop 30 s for the load balancer to stop sending, then up
# to ~56 s to finish the longest request, with 50 % margin: 130 s.
PRE_STOP_SECONDS = 30
TERMINATION_GRACE_SECONDS = 130
# The seed's startup budget: /health every second for up to 10 minutes (download + load).
STARTUP_FAILURES = 600
GMP_COLLECTOR = ("gmp-system", "collector")


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter the server loads: its served name and its Hugging Face repo."""

    name: str
    source: str
    priority: int = 10


@dataclass(frozen=True)
class ModelServer:
    name: str
    namespace: str
    labels: dict[str, str]
    model: HfModel
    node_pool: str
    accelerator: str
    replicas: int
    adapters: tuple[Adapter, ...] = ()
    # Adapters taken away: the syncer unloads them (its ensureNotExist list).
    removed: tuple[Adapter, ...] = ()
    max_loras: int = 2
    max_cpu_loras: int = 12
    max_lora_rank: int = 16
    # The Kubernetes Secret holding the team's token, when the model or an adapter is gated.
    hf_secret: str | None = None
    image: str = versions.VLLM_IMAGE

    @property
    def selector(self) -> dict[str, str]:
        return {"app": self.name}

    @property
    def adapters_config_map(self) -> str:
        return f"{self.name}-adapters"

    @property
    def metrics_reader(self) -> str:
        return f"{self.name}-metrics-reader"


def meta(name: str, labels: dict[str, str], namespace: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": {**MANAGED_BY_LABEL, **labels}}
    if namespace:
        out["namespace"] = namespace
    return out


# -- metrics RBAC (seed: metrics-auth.yaml) ------------------------------------------------


RBAC = "rbac.authorization.k8s.io/v1"


def rbac_object(kind: str, metadata: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": kind, "metadata": metadata, **fields}


def role_ref(kind: str, name: str) -> dict[str, str]:
    return {"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def service_account_subject(name: str, namespace: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def retired_metrics_rbac(server: ModelServer) -> list[dict[str, Any]]:
    """The metrics token and RBAC deployments rolled out before held (a token GMP's
    collector was to scrape /metrics with, which nothing did): no longer made, deleted
    at tear down (an absent one is nothing to do)."""
    reader, ns, labels = server.metrics_reader, server.namespace, server.labels
    secret, read = f"{reader}-secret", f"{reader}-secret-read"
    token_meta = meta(secret, labels, ns)
    token_meta["annotations"] = {"kubernetes.io/service-account.name": reader}
    return [
        rbac_object(
            "ClusterRole",
            meta(reader, labels),
            rules=[{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        ),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(reader, labels, ns)},
        rbac_object(
            "ClusterRoleBinding",
            meta(reader, labels),
            subjects=[service_account_subject(reader, ns)],
            roleRef=role_ref("ClusterRole", reader),
        ),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": token_meta,
        },
        rbac_object(
            "Role",
            meta(read, labels, ns),
            rules=[
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "verbs": ["get", "list", "watch"],
                    "resourceNames": [secret],
                }
            ],
        ),
        rbac_object(
            "RoleBinding",
            meta(read, labels, ns),
            roleRef=role_ref("Role", read),
            subjects=[service_account_subject(GMP_COLLECTOR[1], GMP_COLLECTOR[0])],
        ),
    ]


def hf_token_secret(server: ModelServer) -> dict[str, Any]:
    """The Secret vLLM reads the token from, as the plan shows it: no data.
    The step's executor fills `data` from the team's Secret Manager secret when it applies
    it, so the token is never in the plan, the database or an event."""
    if not server.hf_secret:
        raise ValueError("this model server reads no token")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta(server.hf_secret, server.labels, server.namespace),
    }


def adapters_config(server: ModelServer) -> dict[str, Any]:
    """The lora-syncer's ConfigMap (tools/dynamic-lora-sidecar's schema): what to load."""
    config: dict[str, Any] = {
        "vLLMLoRAConfig": {
            "name": server.adapters_config_map,
            "port": PORT,
            "defaultBaseModel": server.model.hf_id,
            "ensureExist": {
                "models": [{"id": a.name, "source": a.source} for a in server.adapters]
            },
        }
    }
    if server.removed:
        config["vLLMLoRAConfig"]["ensureNotExist"] = {
            "models": [{"id": a.name, "source": a.source} for a in server.removed]
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(server.adapters_config_map, server.labels, server.namespace),
        "data": {"configmap.yaml": yaml.safe_dump(config, sort_keys=False)},
    }


# -- vLLM's Deployment (seed: vllm-llama3.1-8b-instruct.yaml) -----------------------------


def vllm_args(server: ModelServer) -> list[str]:
    # fmt: skip below: each flag beside its value, as on the seed's command line.
    return [
        "--model", server.model.hf_id,
        "--tensor-parallel-size", "1",
        "--port", str(PORT),
        "--enable-lora",
        "--max-loras", str(server.max_loras),
        "--max-cpu-loras", str(server.max_cpu_loras),
        "--max-lora-rank", str(server.max_lora_rank),
        # The seed's workaround for vllm-project/vllm#29049 (LoRA with CUDA graphs).
        "--compilation-config", '{"cudagraph_specialize_lora": false}',
    ]  # fmt: skip


def _health(**timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": "/health", "port": "http", "scheme": "HTTP"}, **timing}


def _env(server: ModelServer) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "PORT", "value": str(PORT)},
        # Adapters are loaded and unloaded while the server runs (the syncer's calls).
        {"name": "VLLM_ALLOW_RUNTIME_LORA_UPDATING", "value": "true"},
    ]
    if server.hf_secret:
        env.append(
            {
                "name": "HUGGING_FACE_HUB_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": server.hf_secret, "key": TOKEN_KEY}},
            }
        )
    return env


def _vllm(server: ModelServer) -> dict[str, Any]:
    return {
        "name": "vllm",
        "image": server.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        "args": vllm_args(server),
        "env": _env(server),
        "ports": [{"containerPort": PORT, "name": "http", "protocol": "TCP"}],
        # vLLM stops taking connections on SIGTERM: wait for the load balancer first.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "livenessProbe": _health(
            periodSeconds=1, successThreshold=1, failureThreshold=5, timeoutSeconds=1
        ),
        "readinessProbe": _health(
            periodSeconds=1, successThreshold=1, failureThreshold=1, timeoutSeconds=1
        ),
        "startupProbe": _health(
            failureThreshold=STARTUP_FAILURES, initialDelaySeconds=2, periodSeconds=1
        ),
        "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}},
        "volumeMounts": [
            {"mountPath": "/data", "name": "data"},
            {"mountPath": "/dev/shm", "name": "shm"},  # noqa: S108 - a mount
            {"mountPath": "/adapters", "name": "adapters"},
        ],
    }


def _syncer(server: ModelServer) -> dict[str, Any]:
    return {
        "name": "lora-adapter-syncer",
        "image": versions.LORA_SYNCER_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # A native sidecar: started before vLLM, kept running beside it.
        "restartPolicy": "Always",
        # No token: it only calls vLLM's load/unload routes; vLLM downloads the adapter.
        "env": [{"name": "DYNAMIC_LORA_ROLLOUT_CONFIG", "value": "/config/configmap.yaml"}],
        # A directory, never a subPath: ConfigMap updates reach a directory mount only.
        "volumeMounts": [{"name": "config-volume", "mountPath": "/config"}],
    }


def deployment(server: ModelServer) -> dict[str, Any]:
    pod_labels = {**MANAGED_BY_LABEL, **server.labels, **server.selector}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(server.name, server.labels, server.namespace),
        "spec": {
            "replicas": server.replicas,
            "selector": {"matchLabels": dict(server.selector)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "initContainers": [_syncer(server)],
                    "containers": [_vllm(server)],
                    # A `vllm` Service in the namespace would inject VLLM_PORT as tcp://...
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "nodeSelector": {
                        "cloud.google.com/gke-accelerator": server.accelerator,
                        "cloud.google.com/gke-nodepool": server.node_pool,
                    },
                    "volumes": [
                        {"name": "data", "emptyDir": {}},
                        {"name": "shm", "emptyDir": {"medium": "Memory"}},
                        {"name": "adapters", "emptyDir": {}},
                        {
                            "name": "config-volume",
                            "configMap": {"name": server.adapters_config_map},
                        },
                    ],
                },
            },
        },
    }


def server_objects(server: ModelServer) -> list[dict[str, Any]]:
    """The model server's objects in apply order (deleted in reverse); the token's Secret
    is applied by its own step (hf_token_secret)."""
    return [adapters_config(server), deployment(server)]
