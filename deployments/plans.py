"""The plan for a deployment row: its target's pure plan functions (deployments/targets/),
given the row's identity and spec and the context settings give."""

from dataclasses import replace
from typing import Any

from django.conf import settings

from deployments.choices import Phase
from deployments.targets.plan import LEGACY_NAMES, DeploymentPlan, DeploymentRef, PlanContext

__all__ = [
    "DeploymentPlan",
    "PlanContext",
    "plan_context_from_settings",
    "plan_for",
    "ref_for",
]


def plan_context_from_settings() -> PlanContext:
    gcp = settings.GCP
    return PlanContext(
        project=gcp["PROJECT"],
        portal_service_account=gcp["PORTAL_SERVICE_ACCOUNT"],
        registry_repository=gcp["REGISTRY_REPOSITORY"],
        ollama_image=gcp.get("OLLAMA_IMAGE", "ollama/ollama:latest"),
        vllm_image=gcp.get("VLLM_IMAGE", PlanContext.vllm_image),
        build_service_account=gcp.get("BUILD_SERVICE_ACCOUNT", ""),
        universe_domain=gcp.get("UNIVERSE_DOMAIN", PlanContext.universe_domain),
    )


def plan_for(
    deployment: Any, phase: Phase | None = None, ctx: PlanContext | None = None
) -> DeploymentPlan:
    """The plan for a deployment's current phase (or the one asked for)."""
    from deployments.targets import spec_for, target_for

    phase = phase or deployment.phase
    ctx = ctx or plan_context_from_settings()
    target = target_for(deployment)
    build = target.deploy_plan if phase == Phase.DEPLOY else target.teardown_plan
    ref, spec = ref_for(deployment), spec_for(deployment)
    if target.with_live is not None:
        # What other live rows contribute (an adapter list), read now, for this plan only.
        from deployments.services.offers import live_deployments_of_team

        spec = target.with_live(spec, ref, live_deployments_of_team(deployment.team_id))
    plan = build(ref, spec, ctx)
    if phase == Phase.TEARDOWN:
        plan = _without_a_lost_cluster(deployment, plan)
    return plan


def _without_a_lost_cluster(deployment: Any, plan: DeploymentPlan) -> DeploymentPlan:
    """A tear down on a lost cluster skips the steps that would reach it: what ran there
    went with it, and those calls can only fail. What the deployment holds outside the
    cluster (its Google account, bucket, secrets) is still removed."""
    from deployments.services.cluster_lost import lost_cluster_of

    if not any("cluster" in step.params for step in plan.steps):
        return plan
    if lost_cluster_of(deployment) is None:
        return plan
    return replace(plan, steps=tuple(s for s in plan.steps if "cluster" not in s.params))


def ref_for(deployment: Any) -> DeploymentRef:
    """The identity of a deployment row, as its target's plans and declarations take it."""
    return DeploymentRef(
        id=deployment.pk,
        slug=deployment.slug,
        team_slug=deployment.team.slug,
        attempt=max(deployment.attempt, 1),
        legacy_names=(deployment.spec or {}).get(LEGACY_NAMES) is True,
    )
