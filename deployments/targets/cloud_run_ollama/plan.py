"""Seed 000 as a plan: Ollama with the model baked into the image, on a Cloud Run L4 GPU.

Build: Cloud Build writes the seed's Dockerfile from an inline base64 env var (no
source upload), pulls the model into the image and pushes it to Artifact Registry.
Deploy: the v2 service carries every flag of the seed's `gcloud run deploy`.
"""

from deployments.choices import Phase
from deployments.targets import cloud_build
from deployments.targets.cloud_run import steps as cloud_run_steps
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from deployments.targets.endpoint import SMOKE_TEST_PROMPT
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext

TARGET = "cloud-run-ollama"

OLLAMA_PORT = 8080
BUILD_MACHINE_TYPE = "E2_HIGHCPU_8"  # pulling multi-GB weights is network- and CPU-bound
BUILD_TIMEOUT = "3600s"


def dockerfile(spec: CloudRunOllamaSpec, ctx: PlanContext) -> str:
    """The seed's Dockerfile: weights in the image make cold starts fast (seed 000)."""
    return "\n".join(
        [
            f"FROM {ctx.ollama_image}",
            f"ENV OLLAMA_HOST=0.0.0.0:{OLLAMA_PORT}",
            "ENV OLLAMA_MODELS=/models",
            "ENV OLLAMA_DEBUG=false",
            # Never unload the weights from the GPU between requests.
            "ENV OLLAMA_KEEP_ALIVE=-1",
            f"ENV MODEL={spec.catalog_model.ollama_tag}",
            "RUN ollama serve & sleep 5 && ollama pull $MODEL",
            'ENTRYPOINT ["ollama", "serve"]',
            "",
        ]
    )


def image_uri(ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext) -> str:
    return cloud_run_steps.image_uri(ref, spec.region, ctx)


def build_body(ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext) -> dict[str, object]:
    image = image_uri(ref, spec, ctx)
    return {
        "steps": [
            cloud_build.write_dockerfile(dockerfile(spec, ctx)),
            {
                "id": "build",
                "name": cloud_build.DOCKER_BUILDER,
                "args": ["build", "-t", image, "."],
            },
        ],
        "images": [image],
        "tags": ["hangar", f"hangar-{ref.slug}", cloud_build.build_tag(ref)],
        "timeout": BUILD_TIMEOUT,
        "serviceAccount": cloud_build.build_account(ctx),
        "options": {"machineType": BUILD_MACHINE_TYPE, "logging": cloud_build.BUILD_LOGGING},
    }


def service_body(
    ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext
) -> dict[str, object]:
    """The v2 Service for seed 000's `gcloud run deploy`, flag by flag.

    --no-cpu-throttling is `resources.cpuIdle = false`, a proto3 default the client
    never puts on the wire: setting `resources` without it keeps CPU always allocated.
    --no-allow-unauthenticated needs nothing: a new service has no public binding.
    The service's name travels in the URL, not in the body.
    """
    return {
        "labels": ref.labels,
        "ingress": "INGRESS_TRAFFIC_ALL",
        "template": {
            "labels": ref.labels,
            "scaling": {  # --min-instances / --max-instances
                "minInstanceCount": spec.min_instances,
                "maxInstanceCount": spec.max_instances,
            },
            "timeout": f"{spec.timeout_seconds}s",  # --timeout
            "maxInstanceRequestConcurrency": spec.concurrency,  # --concurrency
            "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2",
            "nodeSelector": {"accelerator": spec.gpu_type},  # --gpu-type
            "gpuZonalRedundancyDisabled": True,  # --no-gpu-zonal-redundancy
            "containers": [
                {
                    "name": "ollama",
                    "image": image_uri(ref, spec, ctx),
                    "ports": [{"containerPort": OLLAMA_PORT}],
                    "env": [  # --set-env-vars
                        {"name": "OLLAMA_NUM_PARALLEL", "value": str(spec.ollama_parallel)}
                    ],
                    "resources": {
                        "limits": {
                            "cpu": str(spec.cpu),  # --cpu
                            "memory": f"{spec.memory_gib}Gi",  # --memory
                            "nvidia.com/gpu": str(spec.gpu_count),  # --gpu
                        },
                        "startupCpuBoost": True,
                    },
                }
            ],
        },
    }


def _gcloud_deploy(ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext) -> str:
    labels = ",".join(f"{k}={v}" for k, v in ref.labels.items())
    return " ".join(
        [
            f"gcloud run deploy {ref.slug}",
            f"--image={image_uri(ref, spec, ctx)}",
            f"--region={spec.region}",
            f"--concurrency={spec.concurrency}",
            f"--cpu={spec.cpu}",
            f"--set-env-vars=OLLAMA_NUM_PARALLEL={spec.ollama_parallel}",
            f"--gpu={spec.gpu_count}",
            f"--gpu-type={spec.gpu_type}",
            f"--min-instances={spec.min_instances}",
            f"--max-instances={spec.max_instances}",
            f"--memory={spec.memory_gib}Gi",
            "--no-allow-unauthenticated",
            "--no-cpu-throttling",
            "--no-gpu-zonal-redundancy",
            f"--timeout={spec.timeout_seconds}",
            f"--labels={labels}",
        ]
    )


def deploy_plan(ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext) -> DeploymentPlan:
    smoke_body = {
        "model": spec.catalog_model.ollama_tag,
        "messages": [{"role": "user", "content": SMOKE_TEST_PROMPT}],
        "stream": False,
    }
    steps = (
        cloud_run_steps.ensure_repository(spec.region, ctx),
        cloud_build.run_build(
            ref,
            spec.region,
            ctx,
            key="build_image",
            title=f"Build the image with {spec.catalog_model.ollama_tag} baked in",
            body=build_body(ref, spec, ctx),
        ),
        *cloud_run_steps.serve(
            ref,
            spec.region,
            ctx,
            body=service_body(ref, spec, ctx),
            cli=_gcloud_deploy(ref, spec, ctx),
        ),
        cloud_run_steps.call_service(
            key="smoke_test",
            title="Chat with the model through its private URL",
            action="endpoint.ollama_chat",
            path="/api/chat",
            body=smoke_body,
        ),
    )
    return DeploymentPlan(TARGET, Phase.DEPLOY, ref, steps)


def teardown_plan(ref: DeploymentRef, spec: CloudRunOllamaSpec, ctx: PlanContext) -> DeploymentPlan:
    steps = (
        cloud_build.cancel_build(ref, spec.region, ctx, tag=cloud_build.build_tag(ref)),
        cloud_run_steps.delete_service(ref, spec.region, ctx),
        cloud_run_steps.delete_image(ref, spec.region, ctx),
    )
    return DeploymentPlan(TARGET, Phase.TEARDOWN, ref, steps)
