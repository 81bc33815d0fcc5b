"""Seed 003's manifests, corrected: pure functions from what a deployment asks to the
objects Hangar applies.

What differs from the seed, and why:
- The pod runs as a Kubernetes service account bound to the deployment's Google account
  (Workload Identity). The seed never sets `serviceAccountName`, so its pod runs as
  `default` and cannot read the weights bucket.
- vLLM's OpenAI-compatible server (`vllm.entrypoints.openai.api_server`): the seed starts
  `vllm.entrypoints.api_server`, which has no `/v1/chat/completions`, yet queries that.
  `--served-model-name` keeps the Hugging Face id the seed's curl asks for (a model loaded
  from gs:// is otherwise named after its path).
- Startup and readiness probes on `/health`: traffic only once the weights are loaded,
  and up to 30 minutes to load them before Kubernetes gives up.
- Every object carries `managed-by: hangar`; what belongs to one deployment also carries
  its labels, and lives in its team's namespace. The ComputeClass is the deployment's own
  (cluster-scoped objects have no namespace to keep them apart).
"""

from dataclasses import dataclass, field
from typing import Any

from runbook.plan import MANAGED_BY_LABEL

PORT = 8080
# The Model Garden image the seed runs; its entrypoint copies gs:// weights locally (the
# GCS_URI_* variables tell it which argument holds the URI) and then runs the command.
SEED_IMAGE = (
    "us-docker.pkg.dev/vertex-ai/vertex-vision-model-garden-dockers/pytorch-vllm-serve:gemma4"
)
# Startup: /health is polled every 10 s for up to 30 minutes (the weights are copied from
# the bucket first); readiness then every 5 s.
STARTUP_PERIOD_SECONDS = 10
STARTUP_FAILURES = 180


@dataclass(frozen=True)
class ModelServer:
    """What the manifests need to know; the target's spec and plan context fill it."""

    name: str
    namespace: str
    labels: dict[str, str]
    hf_id: str
    model_label: str
    bucket: str
    ksa: str
    gsa_email: str
    machine_type: str
    accelerator: str
    node_gpus: int
    universe: str
    image: str = SEED_IMAGE
    cpu: str = "20"
    memory_gib: int = 80
    ephemeral_gib: int = 80
    gpus: int = 1
    max_model_len: int | None = None
    max_num_seqs: int = 128
    gpu_memory_utilization: str = "0.9"
    extra_labels: dict[str, str] = field(default_factory=dict)
    # Where in the bucket the weights are (the download puts them under the model's id).
    weights_path: str = ""

    @property
    def compute_class(self) -> str:
        return self.name

    @property
    def selector(self) -> dict[str, str]:
        return pod_selector(self.name)


def pod_selector(name: str) -> dict[str, str]:
    """The labels that pick the model server's pods (its Deployment's selector)."""
    return {"app": name}


def _meta(name: str, labels: dict[str, str], namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def namespace(name: str, team_slug: str) -> dict[str, Any]:
    labels = {**MANAGED_BY_LABEL, "hangar-team": team_slug}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, labels)}


def gpu_quota(namespace_name: str, team_slug: str, gpus: int) -> dict[str, Any]:
    """The team's GPU ceiling, held by Kubernetes too: a pod past it is refused at admission.

    A ResourceQuota counts what pods request (`requests.nvidia.com/gpu`); it cannot count
    the node under them, and Google bills the whole node (8 H100s for a 1-GPU pod on
    a3-edgegpu-8g-nolssd). Hangar's own quota is what counts the node's GPUs; `gpus` is
    the ceiling Hangar lets the team hold, so pods, which request at most their node's
    GPUs, are never refused here for what Hangar approved.
    """
    labels = {**MANAGED_BY_LABEL, "hangar-team": team_slug}
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("hangar-gpus", labels, namespace_name),
        "spec": {"hard": {"requests.nvidia.com/gpu": str(gpus)}},
    }


def service_account(server: ModelServer) -> dict[str, Any]:
    meta = _meta(server.ksa, server.labels, server.namespace)
    meta["annotations"] = {"iam.gke.io/gcp-service-account": server.gsa_email}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def compute_class(server: ModelServer) -> dict[str, Any]:
    return {
        "apiVersion": "cloud.google.com/v1",
        "kind": "ComputeClass",
        "metadata": _meta(server.compute_class, server.labels),
        "spec": {
            "priorities": [
                {
                    "machineType": server.machine_type,
                    "gpu": {"type": server.accelerator, "count": server.node_gpus},
                }
            ],
            "nodePoolAutoCreation": {"enabled": True},
        },
    }


def vllm_args(server: ModelServer) -> list[str]:
    # fmt: skip below: the command on one line, then its flags, as the seed writes them.
    args = [
        "python", "-m", "vllm.entrypoints.openai.api_server",
        "--host=0.0.0.0",
        f"--port={PORT}",
        f"--model=gs://{server.bucket}{'/' + server.weights_path if server.weights_path else ''}",
        f"--served-model-name={server.hf_id}",
        f"--tensor-parallel-size={server.gpus}",
        f"--max-num-seqs={server.max_num_seqs}",
        f"--gpu-memory-utilization={server.gpu_memory_utilization}",
        "--limit_mm_per_prompt.image=1",
        "--enable-auto-tool-choice",
        "--tool-call-parser=gemma4",
        "--reasoning-parser=gemma4",
    ]  # fmt: skip
    if server.max_model_len:
        args.append(f"--max-model-len={server.max_model_len}")
    return args


def _env(server: ModelServer) -> list[dict[str, str]]:
    pairs = {
        "GOOGLE_CLOUD_UNIVERSE_DOMAIN": server.universe,
        "CLOUDSDK_CORE_UNIVERSE_DOMAIN": server.universe,
        "GCS_URI_ARG_KEY": "model",
        "GCS_URI_ENV_KEY": "AIP_STORAGE_URI",
        "LORA_ADAPTER_ARG_KEY": "lora-modules",
        "HF_HUB_ENABLE_HF_TRANSFER": "1",
    }
    return [{"name": k, "value": v} for k, v in pairs.items()]


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": PORT},
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def _container(server: ModelServer) -> dict[str, Any]:
    amounts = {
        "cpu": server.cpu,
        "memory": f"{server.memory_gib}Gi",
        "ephemeral-storage": f"{server.ephemeral_gib}Gi",
        "nvidia.com/gpu": str(server.gpus),
    }
    return {
        "name": "inference-server",
        "image": server.image,
        # Autopilot wants GPU requests equal to limits; the seed's numbers.
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
        "command": ["./entrypoint.sh"],
        "args": vllm_args(server),
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": _env(server),
        "startupProbe": _probe(STARTUP_PERIOD_SECONDS, STARTUP_FAILURES),
        "readinessProbe": _probe(5, 3),
        "volumeMounts": [{"mountPath": "/dev/shm", "name": "dshm"}],  # noqa: S108 - a mount
    }


def deployment(server: ModelServer) -> dict[str, Any]:
    pod_labels = {
        **server.labels,
        **server.selector,
        "ai.gke.io/model": server.model_label,
        "ai.gke.io/inference-server": "vllm",
        **server.extra_labels,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(server.name, server.labels, server.namespace),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(server.selector)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": server.ksa,
                    "containers": [_container(server)],
                    # vLLM's workers share tensors through /dev/shm: memory-backed.
                    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
                    "nodeSelector": {"cloud.google.com/compute-class": server.compute_class},
                },
            },
        },
    }


def service(server: ModelServer) -> dict[str, Any]:
    """ClusterIP only: no load balancer; Hangar reaches it through the API server's proxy."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(server.name, server.labels, server.namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(server.selector),
            "ports": [{"name": "http", "protocol": "TCP", "port": PORT, "targetPort": PORT}],
        },
    }


def server_objects(server: ModelServer) -> list[dict[str, Any]]:
    """The deployment's own objects, in the order they are applied (deleted in reverse)."""
    return [service_account(server), compute_class(server), deployment(server), service(server)]
