"""Building blocks for sandbox tests: the seed guide's Dockerfile, build, deploy."""

from __future__ import annotations

import base64

from google.api_core.future import polling
from google.cloud import artifactregistry_v1, run_v2
from google.cloud.devtools import cloudbuild_v1

PROJECT = "hangar-sandbox"
REGION = "europe-west1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
FAST_POLL = polling.DEFAULT_POLLING.with_delay(initial=0.05, multiplier=1.5, maximum=0.3)

# The seed guide's Dockerfile (000: Cloud Run + Ollama + Gemma 3).
DOCKERFILE = """\
FROM ollama/ollama:latest
# Listen on all interfaces, port 8080
ENV OLLAMA_HOST 0.0.0.0:8080
ENV OLLAMA_MODELS /models
ENV OLLAMA_DEBUG false
ENV OLLAMA_KEEP_ALIVE -1
ENV MODEL gemma3:4b
RUN ollama serve & sleep 5 && ollama pull $MODEL
ENTRYPOINT ["ollama", "serve"]
"""


def wait(op, timeout: float = 10):
    return op.result(timeout=timeout, polling=FAST_POLL)


def image_uri(repo: str = "llm", name: str = "ollama-gemma", tag: str = "v1") -> str:
    return f"{REGION}-docker.pkg.dev/{PROJECT}/{repo}/{name}:{tag}"


def create_repository(client: artifactregistry_v1.ArtifactRegistryClient, repo: str = "llm"):
    op = client.create_repository(
        parent=PARENT,
        repository_id=repo,
        repository=artifactregistry_v1.Repository(
            format_=artifactregistry_v1.Repository.Format.DOCKER,
            labels={"managed-by": "hangar"},
        ),
    )
    return wait(op)


def image_build(
    image: str, dockerfile: str = DOCKERFILE, tags: tuple[str, ...] = ("hangar-test",), **extra
) -> cloudbuild_v1.Build:
    encoded = base64.b64encode(dockerfile.encode()).decode()
    return cloudbuild_v1.Build(
        steps=[
            cloudbuild_v1.BuildStep(
                name="ubuntu",
                entrypoint="bash",
                args=["-c", 'echo "$$DOCKERFILE_B64" | base64 -d > Dockerfile'],
                env=[f"DOCKERFILE_B64={encoded}"],
            ),
            cloudbuild_v1.BuildStep(
                name="gcr.io/cloud-builders/docker", args=["build", "-t", image, "."]
            ),
            cloudbuild_v1.BuildStep(name="gcr.io/cloud-builders/docker", args=["push", image]),
        ],
        images=[image],
        tags=list(tags),
        **extra,
    )


def gpu_service(image: str, **limits: str) -> run_v2.Service:
    resource_limits = {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1", **limits}
    return run_v2.Service(
        labels={"managed-by": "hangar"},
        template=run_v2.RevisionTemplate(
            scaling=run_v2.RevisionScaling(max_instance_count=1),
            max_instance_request_concurrency=4,
            node_selector=run_v2.NodeSelector(accelerator="nvidia-l4"),
            gpu_zonal_redundancy_disabled=True,
            containers=[
                run_v2.Container(
                    image=image,
                    ports=[run_v2.ContainerPort(container_port=8080)],
                    env=[run_v2.EnvVar(name="OLLAMA_NUM_PARALLEL", value="4")],
                    resources=run_v2.ResourceRequirements(
                        limits=resource_limits, startup_cpu_boost=True
                    ),
                )
            ],
        ),
    )
