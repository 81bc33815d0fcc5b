"""Seed 003 as a plan: vLLM on a GKE Autopilot H100, weights from a bucket read through
Workload Identity, reached only through the API server's service proxy.

Deploy: the team's namespace and GPU quota; the deployment's Google account; its bucket,
filled once by the Cloud Build download the Cloud Run bucket mode uses (seed 002) and
readable by that account; Workload Identity for the pod's Kubernetes account; then the
Kubernetes objects (manifests.py), the wait for Available, /health and a chat through the
proxy. Tear down, in order: the Kubernetes objects Hangar applied (each waited until
gone), the Google account (its Workload Identity binding goes with it), the bucket's
objects and the bucket (its reader binding goes with it). The namespace and its quota
are the team's and stay, as the cluster does.

The spec is gke_vllm/spec.py: its region (the cluster's location) and the team's GPU
ceiling were set when the request was bound to its team; the universe domain comes with
the plan context. Nothing here reads settings.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from deployments.choices import Phase
from deployments.targets import bucket_steps, cloud_build, iam_steps, kube_steps
from deployments.targets.capabilities import LogSource, NodeLifetime, build_log
from deployments.targets.cloud_run_vllm import bodies as run_bodies
from deployments.targets.endpoint import openai_smoke_body
from deployments.targets.gke import names
from deployments.targets.gke_vllm import identity, manifests
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext
from runbook.ownership import owner_keys_of
from runbook.plan import Step

TARGET = "gke-vllm"


def _cluster_id(spec: GkeVllmSpec) -> int:
    """A request always names its cluster; only a spec priced before one is chosen (an
    estimate, or every plan shape walked for the preflight) has none: 0, no cluster."""
    return spec.cluster or 0


def metering(ref: DeploymentRef, spec: GkeVllmSpec) -> NodeLifetime:
    """The nodes vLLM's pods run on (the Deployment whose apply starts the billing): Google
    bills each whole, from the moment Autopilot provisions it until it is removed."""
    selector = manifests.pod_selector(server_name(ref))
    return NodeLifetime(
        cluster=_cluster_id(spec),
        machine_type=spec.machine_type,
        namespace=identity.team_namespace(ref.team_slug),
        selector=",".join(f"{key}={value}" for key, value in sorted(selector.items())),
    )


def log_sources(
    ref: DeploymentRef, spec: GkeVllmSpec, outputs: Mapping[str, Any]
) -> list[LogSource]:
    """The weights' download build (the pods' logs are the cluster's, not Cloud Logging's
    per-service view)."""
    return build_log(outputs)


def server_name(ref: DeploymentRef) -> str:
    """Its Deployment, Service, Kubernetes account and (cluster-wide) ComputeClass: unique to
    the deployment on a cluster teams share (gke/names.py), a DNS label."""
    return names.unique_name(ref)


def account_id(ref: DeploymentRef) -> str:
    """Its Google account: 6–30 characters, a letter first
    (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create),
    unique to the deployment (two teams' same slug would share one otherwise). A deployment
    made before tags keeps the one it was made with (Cloud Run's, from its slug)."""
    if ref.legacy_names:
        return run_bodies.service_account_id(ref)
    return f"hg-{names.unique_name(ref, limit=27)}"


def bucket_name(ref: DeploymentRef, ctx: PlanContext) -> str:
    """Its weights' bucket: names are global across Google Cloud (3–63 characters,
    https://cloud.google.com/storage/docs/buckets#naming), so the deployment's tag and the
    project's hash join in (a deployment made before tags: its slug and the project's)."""
    if ref.legacy_names:
        return run_bodies.bucket_name(ref, ctx)
    project = hashlib.sha256(ctx.project.encode()).hexdigest()[:8]
    return names.unique_name(ref, f"weights-{project}", limit=63)


def _server(ref: DeploymentRef, spec: GkeVllmSpec, ctx: PlanContext) -> manifests.ModelServer:
    return manifests.ModelServer(
        name=server_name(ref),
        namespace=identity.team_namespace(ref.team_slug),
        labels=names.owner_labels(ref),
        hf_id=spec.hf_model.hf_id,
        model_label=spec.hf_model.key,
        bucket=bucket_name(ref, ctx),
        weights_path=spec.hf_model.hf_id,
        ksa=server_name(ref),
        gsa_email=gsa_email(ref, spec, ctx),
        machine_type=spec.machine.key,
        accelerator=spec.machine.accelerator,
        node_gpus=spec.machine.gpus,
        universe=ctx.universe_domain,
        gpus=spec.gpu_count,
        max_model_len=spec.max_model_len,
    )


def gsa_email(ref: DeploymentRef, spec: GkeVllmSpec, ctx: PlanContext) -> str:
    return identity.service_account_email(account_id(ref), ctx.project, ctx.universe_domain)


def _apply(spec: GkeVllmSpec, key: str, title: str, obj: dict[str, Any], **kw: Any) -> Step:
    step = kube_steps.apply_step(key=key, title=title, cluster=_cluster_id(spec), manifest=obj)
    return replace(step, **kw)


def _weights_steps(ref: DeploymentRef, spec: GkeVllmSpec, ctx: PlanContext) -> list[Step]:
    bucket = bucket_name(ref, ctx)
    download = run_bodies.download_build_body(ref, spec, ctx, bucket=bucket)
    token = []
    if spec.needs_hf_token:  # gated weights: the build downloads them with the team's token
        token.append(
            iam_steps.grant_secret_accessor(
                secret=run_bodies.secret_name(ref, ctx),
                member=f"serviceAccount:{ctx.builder}",
                title="Let the build account read the team's Hugging Face token",
                key="grant_builder_secret_access",
            )
        )
    return [
        *token,
        bucket_steps.ensure_bucket(
            ref,
            ctx,
            bucket=bucket,
            location=spec.region,
            labels=names.owner_labels(ref),
            # Checked even on a legacy-names row: its bucket carries its team's label.
            owner=owner_keys_of(names.owner_labels(ref)),
        ),
        iam_steps.grant_bucket_reader(
            bucket=bucket,
            member=f"serviceAccount:{gsa_email(ref, spec, ctx)}",
            title="Let the deployment's Google account read the weights",
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
            body=download,
        ),
    ]


def _smoke_steps(ref: DeploymentRef, spec: GkeVllmSpec, namespace: str) -> list[Step]:
    chat = openai_smoke_body(spec.hf_model.hf_id)
    health = kube_steps.proxy_call_step(
        key="check_health",
        title="Check vLLM's /health through the API server's proxy",
        action="kube.proxy_health",
        cluster=_cluster_id(spec),
        namespace=namespace,
        service=server_name(ref),
        port=manifests.PORT,
        path="/health",
    )
    smoke = kube_steps.proxy_call_step(
        key="smoke_test",
        title="Chat with the model through the API server's proxy",
        action="kube.proxy_chat",
        cluster=_cluster_id(spec),
        namespace=namespace,
        service=server_name(ref),
        port=manifests.PORT,
        path="/v1/chat/completions",
        body=chat,
    )
    return [health, smoke]


def deploy_plan(ref: DeploymentRef, spec: GkeVllmSpec, ctx: PlanContext) -> DeploymentPlan:
    server = _server(ref, spec, ctx)
    ns = server.namespace
    gsa = account_id(ref)
    member = identity.workload_identity_member(ctx.project, ctx.universe_domain, ns, server.ksa)
    account: dict[str, object] = {
        "accountId": gsa,
        "serviceAccount": {"displayName": f"Hangar {ref.slug}"},
    }
    team = [
        _apply(
            spec,
            "apply_namespace",
            f"The team's namespace {ns}",
            manifests.namespace(ns, ref.team_slug),
        ),
        _apply(
            spec,
            "apply_quota",
            "The team's GPU quota, held by Kubernetes too",
            manifests.gpu_quota(ns, ref.team_slug, spec.team_gpus),
        ),
    ]
    google = [
        iam_steps.ensure_service_account(
            ctx,
            account_id=gsa,
            display_name=f"Hangar {ref.slug}",
            body=account,
            owner=names.checked_owner(ref),
        ),
        *_weights_steps(ref, spec, ctx),
        iam_steps.grant_workload_identity_user(
            project=ctx.project, email=server.gsa_email, member=member
        ),
    ]
    kubernetes = [
        _apply(
            spec,
            "apply_service_account",
            "The pod's account, bound to the Google one",
            manifests.service_account(server),
        ),
        _apply(
            spec,
            "apply_compute_class",
            f"The ComputeClass: {spec.machine_type} nodes",
            manifests.compute_class(server),
        ),
        _apply(
            spec,
            "apply_deployment",
            "vLLM's Deployment",
            manifests.deployment(server),
            billing="starts",
        ),
        kube_steps.wait_available_step(
            cluster=_cluster_id(spec), namespace=ns, name=server.name, selector=server.selector
        ),
        _apply(
            spec,
            "apply_service",
            "The private Service (ClusterIP, no load balancer)",
            manifests.service(server),
        ),
    ]
    steps = [*team, *google, *kubernetes, *_smoke_steps(ref, spec, ns)]
    return DeploymentPlan(TARGET, Phase.DEPLOY, ref, tuple(steps))


def teardown_plan(ref: DeploymentRef, spec: GkeVllmSpec, ctx: PlanContext) -> DeploymentPlan:
    server = _server(ref, spec, ctx)
    owned = manifests.server_objects(server)  # applied in this order; removed in reverse
    deletes = []
    for obj in reversed(owned):
        step = kube_steps.delete_step(
            key=f"delete_{obj['kind'].lower()}",
            title=f"Delete the {obj['kind']} (and wait until it is gone)",
            cluster=_cluster_id(spec),
            manifest=obj,
        )
        # The GPU node goes once its pod does: the spend clock stops there.
        deletes.append(replace(step, billing="ends") if obj["kind"] == "Deployment" else step)
    bucket = bucket_name(ref, ctx)
    steps = [
        cloud_build.cancel_build(ref, spec.region, ctx, tag=cloud_build.build_tag(ref)),
        *deletes,
        iam_steps.delete_service_account(
            ctx, email=server.gsa_email, owner=names.checked_owner(ref)
        ),
        bucket_steps.delete_bucket(bucket, owner_keys_of(names.owner_labels(ref))),
    ]
    return DeploymentPlan(TARGET, Phase.TEARDOWN, ref, tuple(steps))
