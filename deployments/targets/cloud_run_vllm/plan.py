"""Seeds 001 and 002 as a plan: vLLM's OpenAI server on a Cloud Run L4 GPU.

Each deployment runs as its own service account, which may read only its team's
Hugging Face secret (gated models) and its own weights bucket (bucket mode).
The weights are either baked into an image (seed 001) or downloaded once into a
bucket that Cloud Run mounts (seed 002). The request bodies are in vllm_bodies.
"""

from deployments.choices import Phase
from deployments.targets import bucket_steps, cloud_build, iam_steps
from deployments.targets.cloud_run import steps as cloud_run_steps
from deployments.targets.cloud_run_vllm import bodies
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec, WeightsSource
from deployments.targets.endpoint import openai_smoke_body
from deployments.targets.gke.names import checked_owner, owner_labels
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext
from runbook.plan import Step

TARGET = "cloud-run-vllm"


def _iam_steps(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> list[Step]:
    email = bodies.service_account_email(ref, ctx)
    steps = [
        iam_steps.ensure_service_account(
            ctx,
            account_id=bodies.service_account_id(ref),
            body=bodies.service_account_body(ref),
            display_name="Hangar " + ref.slug,
            owner=checked_owner(ref),
        ),
        iam_steps.grant_act_as(ctx, email=email),
    ]
    if spec.needs_hf_token:
        steps += [
            iam_steps.grant_secret_accessor(
                secret=bodies.secret_name(ref, ctx),
                member=f"serviceAccount:{email}",
                title="Let the service account read the team's Hugging Face token",
            ),
            # The build downloads gated weights with the token, as the build account.
            iam_steps.grant_secret_accessor(
                secret=bodies.secret_name(ref, ctx),
                member=f"serviceAccount:{ctx.builder}",
                title="Let the build account read the team's Hugging Face token",
                key="grant_builder_secret_access",
            ),
        ]
    return steps


def _baked_steps(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> list[Step]:
    return [
        cloud_run_steps.ensure_repository(spec.region, ctx),
        cloud_build.run_build(
            ref,
            spec.region,
            ctx,
            key="build_image",
            title=f"Build a vLLM image with {spec.hf_model.hf_id} baked in",
            body=bodies.image_build_body(ref, spec, ctx),
        ),
    ]


def _bucket_steps(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> list[Step]:
    bucket = bodies.bucket_name(ref, ctx)
    member = f"serviceAccount:{bodies.service_account_email(ref, ctx)}"
    return [
        bucket_steps.ensure_bucket(
            ref,
            ctx,
            bucket=bucket,
            location=spec.region,
            labels=owner_labels(ref),
            owner=checked_owner(ref),
        ),
        iam_steps.grant_bucket_reader(
            bucket=bucket, member=member, title="Let the service account read the weights"
        ),
        iam_steps.grant_bucket_writer(
            bucket=bucket,
            member=f"serviceAccount:{ctx.builder}",
            title="Let the build account write the weights into the bucket",
        ),
        cloud_build.run_build(
            ref,
            spec.region,
            ctx,
            key="download_weights",
            title=f"Download {spec.hf_model.hf_id} into the bucket",
            body=bodies.download_build_body(ref, spec, ctx),
        ),
    ]


def _gcloud_deploy(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> str:
    body = bodies.service_body(ref, spec, ctx)
    container = body["template"]["containers"][0]  # type: ignore[index]
    labels = ",".join(f"{k}={v}" for k, v in ref.labels.items())
    parts = [
        f"gcloud run deploy {ref.slug}",
        f"--image={container['image']}",
        f"--region={spec.region}",
        f"--service-account={bodies.service_account_email(ref, ctx)}",
        f"--command={','.join(bodies.VLLM_COMMAND)}",
        f"--args={','.join(bodies.vllm_args(spec))}",
        f"--concurrency={spec.concurrency}",
        f"--cpu={spec.cpu}",
        f"--memory={spec.memory_gib}Gi",
        f"--gpu={spec.gpu_count}",
        f"--gpu-type={spec.gpu_type}",
        f"--min-instances={spec.min_instances}",
        f"--max-instances={spec.max_instances}",
        "--set-env-vars=HF_HUB_OFFLINE=1",
    ]
    if spec.needs_hf_token:
        parts.append(f"--set-secrets={bodies.TOKEN_ENV}={bodies.secret_name(ref, ctx)}:latest")
    if spec.weights_source == WeightsSource.BUCKET:
        parts.append(
            f"--add-volume=name={bodies.WEIGHTS_VOLUME},type=cloud-storage,"
            f"bucket={bodies.bucket_name(ref, ctx)},readonly=true,mount-options=implicit-dirs"
        )
        parts.append(
            f"--add-volume-mount=volume={bodies.WEIGHTS_VOLUME},mount-path={bodies.WEIGHTS_MOUNT}"
        )
    parts += [
        "--no-allow-unauthenticated",
        "--no-cpu-throttling",
        "--no-gpu-zonal-redundancy",
        f"--timeout={spec.timeout_seconds}",
        f"--labels={labels}",
    ]
    return " ".join(parts)


def _serve_steps(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> list[Step]:
    smoke_body = openai_smoke_body(spec.hf_model.hf_id)
    return [
        *cloud_run_steps.serve(
            ref,
            spec.region,
            ctx,
            body=bodies.service_body(ref, spec, ctx),
            cli=_gcloud_deploy(ref, spec, ctx),
        ),
        cloud_run_steps.call_service(
            key="check_health",
            title="Check vLLM's /health through the private URL",
            action="endpoint.vllm_health",
            path="/health",
        ),
        cloud_run_steps.call_service(
            key="smoke_test",
            title="Chat with the model through its private URL",
            action="endpoint.openai_chat",
            path="/v1/chat/completions",
            body=smoke_body,
            curl_flags="-H 'Content-Type: application/json' ",
        ),
    ]


def deploy_plan(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> DeploymentPlan:
    weights = (
        _bucket_steps(ref, spec, ctx)
        if spec.weights_source == WeightsSource.BUCKET
        else _baked_steps(ref, spec, ctx)
    )
    steps = [*_iam_steps(ref, spec, ctx), *weights, *_serve_steps(ref, spec, ctx)]
    return DeploymentPlan(TARGET, Phase.DEPLOY, ref, tuple(steps))


def teardown_plan(ref: DeploymentRef, spec: CloudRunVllmSpec, ctx: PlanContext) -> DeploymentPlan:
    email = bodies.service_account_email(ref, ctx)
    member = f"serviceAccount:{email}"
    steps = [
        cloud_build.cancel_build(ref, spec.region, ctx, tag=cloud_build.build_tag(ref)),
        cloud_run_steps.delete_service(ref, spec.region, ctx),
    ]
    if spec.weights_source == WeightsSource.BUCKET:
        steps.append(bucket_steps.delete_bucket(bodies.bucket_name(ref, ctx), checked_owner(ref)))
    else:
        steps.append(cloud_run_steps.delete_image(ref, spec.region, ctx))
    if spec.needs_hf_token:
        steps.append(
            iam_steps.revoke_secret_accessor(secret=bodies.secret_name(ref, ctx), member=member)
        )
    steps.append(iam_steps.delete_service_account(ctx, email=email, owner=checked_owner(ref)))
    return DeploymentPlan(TARGET, Phase.TEARDOWN, ref, tuple(steps))
