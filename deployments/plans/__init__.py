"""Pure functions from a deployment to the plan that creates or removes it."""

from typing import Any

from django.conf import settings

from deployments.choices import Phase, Target
from deployments.plans import cloud_run_ollama, cloud_run_vllm
from deployments.plans.base import DeploymentRef, Plan, PlanContext
from deployments.specs import spec_for

# One module per target, each with deploy_plan() and teardown_plan().
PLAN_MODULES: dict[str, Any] = {
    Target.CLOUD_RUN_OLLAMA.value: cloud_run_ollama,
    Target.CLOUD_RUN_VLLM.value: cloud_run_vllm,
}

__all__ = ["Plan", "PlanContext", "plan_context_from_settings", "plan_for"]


def plan_context_from_settings() -> PlanContext:
    gcp = settings.GCP
    return PlanContext(
        project=gcp["PROJECT"],
        portal_service_account=gcp["PORTAL_SERVICE_ACCOUNT"],
        registry_repository=gcp["REGISTRY_REPOSITORY"],
        ollama_image=gcp.get("OLLAMA_IMAGE", "ollama/ollama:latest"),
        vllm_image=gcp.get("VLLM_IMAGE", PlanContext.vllm_image),
    )


def plan_for(deployment: Any, phase: Phase | None = None, ctx: PlanContext | None = None) -> Plan:
    """The plan for a deployment's current phase (or the one asked for)."""
    phase = phase or deployment.phase
    ctx = ctx or plan_context_from_settings()
    ref = DeploymentRef(
        id=deployment.pk,
        slug=deployment.slug,
        team_slug=deployment.team.slug,
        attempt=max(deployment.attempt, 1),
    )
    module = PLAN_MODULES.get(deployment.target)
    if module is None:
        raise NotImplementedError(f"Hangar cannot plan {deployment.target} yet.")
    build = module.deploy_plan if phase == Phase.DEPLOY else module.teardown_plan
    return build(ref, spec_for(deployment), ctx)
