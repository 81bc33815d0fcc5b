"""The request bodies of a Cloud Run + vLLM plan: the image build, the weights
download, and the v2 Service. Pure functions of the deployment and the settings.

The Hugging Face token never appears in anything here: builds name the team's
secret in `availableSecrets` and steps read it through `secretEnv`; the service
reads it with an env `secretKeyRef`. Only Secret Manager holds the value.
"""

import hashlib
from typing import Protocol

from deployments.hf_catalog import HfModel
from deployments.targets import cloud_build
from deployments.targets.cloud_run import steps as cloud_run_steps
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec, WeightsSource
from deployments.targets.plan import DeploymentRef, PlanContext
from portal.secret_names import hf_secret_id, hf_secret_name

VLLM_PORT = 8080
GCLOUD_BUILDER = "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"
BUILD_MACHINE_TYPE = "E2_HIGHCPU_8"  # multi-GB downloads are network- and CPU-bound
BUILD_TIMEOUT = "3600s"
# The variable huggingface_hub reads the token from (a name, not a secret).
TOKEN_ENV = "HF_TOKEN"  # noqa: S105
DOCKER_SECRET_ID = "hf_token"  # noqa: S105 - the id of the BuildKit secret mount
HF_HOME = "/model-cache"
WEIGHTS_MOUNT = "/models"
WEIGHTS_VOLUME = "weights"
# The startup probe's window, failureThreshold x periodSeconds: 1200 s, where Cloud Run's
# default TCP probe gives 240 s. Loading a multi-GB model from a bucket mount onto the GPU
# takes minutes. Cloud Run documents the window up to 600 s, and 1800 s on GPU instances
# (https://cloud.google.com/run/docs/configuring/jobs/healthchecks, "1800 for GPU"; the
# services page, https://cloud.google.com/run/docs/configuring/healthchecks, sets the same
# fields), and periodSeconds from 1 to 240.
STARTUP_PROBE_PERIOD_SECONDS = 10
STARTUP_PROBE_FAILURES = 120
GPU_STARTUP_WINDOW_MAX_SECONDS = 1800
# vLLM's own server module: the same entry point whichever tag of the image runs.
VLLM_COMMAND = ["python3", "-m", "vllm.entrypoints.openai.api_server"]


def image_uri(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> str:
    return cloud_run_steps.image_uri(ref, spec.region, ctx)


def _short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def service_account_id(ref: DeploymentRef) -> str:
    """6–30 characters: as much of the slug as fits, and a hash that keeps it unique."""
    return f"hg-{ref.slug[:20].rstrip('-')}-{_short_hash(ref.slug, 6)}"


def service_account_email(ref: DeploymentRef, ctx: PlanContext) -> str:
    return ctx.service_account_email(service_account_id(ref))


def bucket_name(ref: DeploymentRef, ctx: PlanContext) -> str:
    """Bucket names are global across all of Google Cloud, so the project's hash joins in."""
    return f"{ref.slug}-weights-{_short_hash(ctx.project, 8)}"


def secret_name(ref: DeploymentRef, ctx: PlanContext) -> str:
    return hf_secret_name(ctx.project, ref.team_slug)


def _available_secrets(ref: DeploymentRef, ctx: PlanContext) -> dict[str, object]:
    version = f"{secret_name(ref, ctx)}/versions/latest"
    return {"secretManager": [{"versionName": version, "env": TOKEN_ENV}]}


def dockerfile(spec: CloudRunVllmSpec, ctx: PlanContext) -> str:
    """Seed 001's Dockerfile, without its `ARG HF_TOKEN`.

    A build argument stays in the image's history for anyone who can pull it. A
    BuildKit secret mount exists only while that one RUN runs and lands in no layer.
    """
    model = spec.hf_model
    download = f"hf download {model.hf_id}"
    if model.gated:
        download = (
            f"RUN --mount=type=secret,id={DOCKER_SECRET_ID} "
            f'{TOKEN_ENV}="$(cat /run/secrets/{DOCKER_SECRET_ID})" {download}'
        )
    else:
        download = f"RUN {download}"
    return "\n".join(
        [
            "# syntax=docker/dockerfile:1",
            f"FROM {ctx.vllm_image}",
            f"ENV HF_HOME={HF_HOME}",
            download,
            # Everything is in the image: never reach Hugging Face at run time.
            "ENV HF_HUB_OFFLINE=1",
            f"EXPOSE {VLLM_PORT}",
            "",
        ]
    )


class WeightsDownload(Protocol):
    """What the weights download reads of a spec (any target that fills a bucket)."""

    @property
    def hf_model(self) -> HfModel: ...
    @property
    def needs_hf_token(self) -> bool: ...


def _build_common(ref: DeploymentRef, spec: WeightsDownload, ctx: PlanContext) -> dict[str, object]:
    common: dict[str, object] = {
        "tags": ["hangar", f"hangar-{ref.slug}", cloud_build.build_tag(ref)],
        "timeout": BUILD_TIMEOUT,
        "serviceAccount": cloud_build.build_account(ctx),
        "options": {"machineType": BUILD_MACHINE_TYPE, "logging": cloud_build.BUILD_LOGGING},
    }
    if spec.needs_hf_token:
        common["availableSecrets"] = _available_secrets(ref, ctx)
    return common


def image_build_body(
    ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext
) -> dict[str, object]:
    """Seed 001's build: the weights downloaded into the image, the token as a secret mount."""
    image = image_uri(ref, spec, ctx)
    build_step: dict[str, object] = {
        "id": "build",
        "name": cloud_build.DOCKER_BUILDER,
        "args": ["build", "-t", image, "."],
        "env": ["DOCKER_BUILDKIT=1"],  # secret mounts need BuildKit
    }
    if spec.needs_hf_token:
        build_step["args"] = [
            "build",
            "--secret",
            f"id={DOCKER_SECRET_ID},env={TOKEN_ENV}",
            "-t",
            image,
            ".",
        ]
        build_step["secretEnv"] = [TOKEN_ENV]
    return {
        "steps": [
            cloud_build.write_dockerfile(dockerfile(spec, ctx)),
            build_step,
        ],
        "images": [image],
        **_build_common(ref, spec, ctx),
    }


def weights_path(spec: WeightsDownload) -> str:
    """Objects live under the model's id, so one bucket can hold a model's next version too."""
    return spec.hf_model.hf_id


def download_build_body(
    ref: DeploymentRef, spec: WeightsDownload, ctx: PlanContext, *, bucket: str = ""
) -> dict[str, object]:
    """Seed 002's download: the weights go once into the bucket that the service mounts
    (this deployment's, or the one a GKE plan names)."""
    local = f"/workspace/weights/{weights_path(spec)}"
    download: dict[str, object] = {
        "id": "download",
        "name": ctx.vllm_image,  # it carries the `hf` command line
        "entrypoint": "hf",
        "args": ["download", spec.hf_model.hf_id, "--local-dir", local],
    }
    if spec.needs_hf_token:
        download["secretEnv"] = [TOKEN_ENV]
    upload = {
        "id": "upload",
        "name": GCLOUD_BUILDER,
        "entrypoint": "gcloud",
        "args": [
            "storage",
            "rsync",
            "--recursive",
            local,
            f"gs://{bucket or bucket_name(ref, ctx)}/{weights_path(spec)}",
        ],
    }
    return {"steps": [download, upload], **_build_common(ref, spec, ctx)}


def service_account_body(ref: DeploymentRef) -> dict[str, object]:
    return {
        "accountId": service_account_id(ref),
        "serviceAccount": {
            "displayName": f"Hangar {ref.slug}"[:100],
            "description": f"Runs Cloud Run service {ref.slug} for team {ref.team_slug} "
            "(managed-by: hangar)",
        },
    }


def vllm_args(spec: CloudRunVllmSpec) -> list[str]:
    model = spec.hf_model
    source = (
        f"{WEIGHTS_MOUNT}/{weights_path(spec)}"
        if spec.weights_source == WeightsSource.BUCKET
        else model.hf_id
    )
    args = [
        f"--port={VLLM_PORT}",
        f"--model={source}",
        # Clients name the model by its Hugging Face id, wherever the weights come from.
        f"--served-model-name={model.hf_id}",
        f"--gpu-memory-utilization={spec.gpu_memory_utilization}",
    ]
    if spec.max_model_len:
        args.append(f"--max-model-len={spec.max_model_len}")
    return args


def _env(ref: DeploymentRef, spec: CloudRunVllmSpec) -> list[dict[str, object]]:
    env: list[dict[str, object]] = [{"name": "HF_HUB_OFFLINE", "value": "1"}]
    if spec.needs_hf_token:
        # Seed 001 grants the runtime account the token; Cloud Run resolves it at instance
        # start. `latest` follows the team's newest token; older versions stay enabled.
        env.append(
            {
                "name": TOKEN_ENV,
                "valueSource": {
                    "secretKeyRef": {"secret": hf_secret_id(ref.team_slug), "version": "latest"}
                },
            }
        )
    return env


def service_body(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> dict[str, object]:
    """The v2 Service for the seeds' `gcloud run deploy`, flag by flag.

    --no-cpu-throttling is `resources.cpuIdle = false`, a proto3 default the client
    never sends: setting `resources` without it keeps the CPU always allocated.
    A new service has no public binding, which is --no-allow-unauthenticated.
    """
    bucket = spec.weights_source == WeightsSource.BUCKET
    container: dict[str, object] = {
        "name": "vllm",
        "image": ctx.vllm_image if bucket else image_uri(ref, spec, ctx),
        "command": VLLM_COMMAND,
        "args": vllm_args(spec),
        "ports": [{"containerPort": VLLM_PORT}],
        "env": _env(ref, spec),
        "resources": {
            "limits": {
                "cpu": str(spec.cpu),
                "memory": f"{spec.memory_gib}Gi",
                "nvidia.com/gpu": str(spec.gpu_count),
            },
            "startupCpuBoost": True,
        },
        # vLLM listens only once the weights are on the GPU; /health then answers 200.
        "startupProbe": {
            "httpGet": {"path": "/health", "port": VLLM_PORT},
            "periodSeconds": STARTUP_PROBE_PERIOD_SECONDS,
            "timeoutSeconds": 5,
            "failureThreshold": STARTUP_PROBE_FAILURES,
        },
    }
    template: dict[str, object] = {
        "labels": ref.labels,
        "serviceAccount": service_account_email(ref, ctx),
        "scaling": {
            "minInstanceCount": spec.min_instances,
            "maxInstanceCount": spec.max_instances,
        },
        "timeout": f"{spec.timeout_seconds}s",
        "maxInstanceRequestConcurrency": spec.concurrency,
        "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2",
        "nodeSelector": {"accelerator": spec.gpu_type},
        "gpuZonalRedundancyDisabled": True,
        "containers": [container],
    }
    if bucket:
        container["volumeMounts"] = [{"name": WEIGHTS_VOLUME, "mountPath": WEIGHTS_MOUNT}]
        template["volumes"] = [
            {
                "name": WEIGHTS_VOLUME,
                "gcs": {
                    "bucket": bucket_name(ref, ctx),
                    "readOnly": True,
                    # gcsfuse flag: directories exist without placeholder objects.
                    "mountOptions": ["implicit-dirs"],
                },
            }
        ]
    return {"labels": ref.labels, "ingress": "INGRESS_TRAFFIC_ALL", "template": template}
