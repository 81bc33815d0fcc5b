"""Pure functions from a deployment to the plan that creates or removes it; each target's
package (deployments/targets/) builds its own steps."""

from typing import Any

from django.conf import settings

from deployments.choices import Phase
from deployments.plans.base import DeploymentRef, Plan, PlanContext

__all__ = ["Plan", "PlanContext", "plan_context_from_settings", "plan_for"]


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


def plan_for(deployment: Any, phase: Phase | None = None, ctx: PlanContext | None = None) -> Plan:
    """The plan for a deployment's current phase (or the one asked for)."""
    from deployments.targets import spec_for, target_for

    phase = phase or deployment.phase
    ctx = ctx or plan_context_from_settings()
    ref = DeploymentRef(
        id=deployment.pk,
        slug=deployment.slug,
        team_slug=deployment.team.slug,
        attempt=max(deployment.attempt, 1),
    )
    target = target_for(deployment)
    build = target.deploy_plan if phase == Phase.DEPLOY else target.teardown_plan
    return build(ref, spec_for(deployment), ctx)
