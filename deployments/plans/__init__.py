"""Pure functions from a deployment to the plan that creates or removes it."""

from typing import Any

from django.conf import settings

from deployments.choices import Phase, Target
from deployments.plans import cloud_run_ollama
from deployments.plans.base import DeploymentRef, Plan, PlanContext
from deployments.specs import CloudRunOllamaSpec

__all__ = ["Plan", "PlanContext", "plan_context_from_settings", "plan_for"]


def plan_context_from_settings() -> PlanContext:
    gcp = settings.GCP
    return PlanContext(
        project=gcp["PROJECT"],
        portal_service_account=gcp["PORTAL_SERVICE_ACCOUNT"],
        registry_repository=gcp["REGISTRY_REPOSITORY"],
        ollama_image=gcp.get("OLLAMA_IMAGE", "ollama/ollama:latest"),
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
    if deployment.target == Target.CLOUD_RUN_OLLAMA:
        spec = CloudRunOllamaSpec.from_deployment(deployment)
        build = (
            cloud_run_ollama.deploy_plan
            if phase == Phase.DEPLOY
            else cloud_run_ollama.teardown_plan
        )
        return build(ref, spec, ctx)
    raise NotImplementedError(f"Hangar cannot plan {deployment.target} yet.")
