"""Steps every Cloud Run target shares: the image repository, the service, its invoker,
readiness, and their removal. Each target's plan module adds what is its own."""

import json
import shlex
from collections.abc import Mapping
from typing import Any

from deployments.targets.capabilities import InstanceTime, LogSource, ServiceLog, build_log
from deployments.targets.cloud_build import location
from deployments.targets.endpoint import AnswerTime
from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.plan import MANAGED_BY_LABEL, ApiRequest, Step

INVOKER_ROLE = "roles/run.invoker"
# What to check when the private service refuses the portal's ID token.
CLOUD_RUN_ACCESS_HINT = (
    "The portal's service account needs roles/run.invoker on the service, and the token's "
    "audience must be the service URL."
)
# Cloud Run holds a request while an instance starts, up to the request timeout
# (https://cloud.google.com/run/docs/about-instance-autoscaling: pending requests wait for
# the instance a scale from zero starts), so a probe of a service still loading its model
# gets no answer at all rather than a 503: only a short wait tells "starting" apart.
CLOUD_RUN_ANSWER_TIME = AnswerTime(
    0.25,
    "A warm instance answers vLLM's /health or Ollama's root from memory in milliseconds; "
    "the rest is Google's front end and the round trips of a new TLS connection, well "
    "under 250 ms from the same continent.",
)


# A person calls the private service with their own ID token, as the portal does with its.
ID_TOKEN_CURL = 'curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" '  # noqa: S105


def call_service(
    *,
    key: str,
    title: str,
    action: str,
    path: str,
    body: dict[str, object] | None = None,
    curl_flags: str = "",
) -> Step:
    """A request to the deployed model server through its private URL (known once ready)."""
    data = "" if body is None else f" -d {shlex.quote(json.dumps(body))}"
    return Step(
        key=key,
        title=title,
        action=action,
        request=ApiRequest("endpoint", "GET" if body is None else "POST", path, body),
        cli=f"{ID_TOKEN_CURL}{curl_flags}SERVICE_URL{path}{data}",
        required_role=INVOKER_ROLE,
    )


def service_name(ref: DeploymentRef, region: str, ctx: PlanContext) -> str:
    return f"{location(region, ctx)}/services/{ref.slug}"


def metering(ref: DeploymentRef, spec: Any) -> InstanceTime:
    """The service the plan applies (its billing starts there), as Cloud Monitoring names
    it: the deployment's name, in its region."""
    return InstanceTime(service=ref.slug, region=spec.region)


def log_sources(ref: DeploymentRef, spec: Any, outputs: Mapping[str, Any]) -> list[LogSource]:
    """The image's build, then the service's log."""
    return [*build_log(outputs), ServiceLog(service=ref.slug, region=spec.region)]


def image_uri(ref: DeploymentRef, region: str, ctx: PlanContext) -> str:
    return (
        f"{region}-docker.pkg.dev/{ctx.project}/{ctx.registry_repository}/{ref.slug}:a{ref.attempt}"
    )


def package_name(ref: DeploymentRef, region: str, ctx: PlanContext) -> str:
    return f"{location(region, ctx)}/repositories/{ctx.registry_repository}/packages/{ref.slug}"


def ensure_repository(region: str, ctx: PlanContext) -> Step:
    loc = location(region, ctx)
    repo = ctx.registry_repository
    return Step(
        key="ensure_repository",
        title="Ensure the Artifact Registry Docker repository",
        action="artifact_registry.ensure_repository",
        request=ApiRequest(
            "artifactregistry",
            "POST",
            f"/v1/{loc}/repositories?repositoryId={repo}",
            {
                "format": "DOCKER",
                "description": "Images built by Hangar",
                "labels": dict(MANAGED_BY_LABEL),
            },
        ),
        cli=(
            f"gcloud artifacts repositories create {repo} --repository-format=docker "
            f"--location={region} --labels=managed-by=hangar"
        ),
        required_role="roles/artifactregistry.admin",
        params={"parent": loc, "repository_id": repo},
    )


def deploy_service(
    ref: DeploymentRef, region: str, ctx: PlanContext, *, body: dict[str, object], cli: str
) -> Step:
    """Create or update (allowMissing): the same idempotent call whether it exists or not."""
    service = service_name(ref, region, ctx)
    return Step(
        key="deploy_service",
        title="Create or update the Cloud Run service",
        action="cloud_run.apply_service",
        request=ApiRequest("run", "PATCH", f"/v2/{service}?allowMissing=true", body),
        cli=cli,
        required_role="roles/run.admin",
        params={"name": service},
        billing="starts",
    )


def serve(
    ref: DeploymentRef, region: str, ctx: PlanContext, *, body: dict[str, object], cli: str
) -> list[Step]:
    """The service, private to the portal, until it is Ready: the same three steps for
    every Cloud Run target."""
    return [
        deploy_service(ref, region, ctx, body=body, cli=cli),
        grant_invoker(ref, region, ctx),
        wait_ready(ref, region, ctx),
    ]


def grant_invoker(ref: DeploymentRef, region: str, ctx: PlanContext) -> Step:
    """The service stays private: the portal's identity is its only invoker, never allUsers."""
    service = service_name(ref, region, ctx)
    invoker = f"serviceAccount:{ctx.portal_service_account}"
    return Step(
        key="grant_invoker",
        title="Let only the portal invoke the service",
        action="cloud_run.grant_invoker",
        request=ApiRequest(
            "run",
            "POST",
            f"/v2/{service}:setIamPolicy",
            {"policy": {"bindings": [{"role": INVOKER_ROLE, "members": [invoker]}]}},
        ),
        cli=(
            f"gcloud run services add-iam-policy-binding {ref.slug} --region={region} "
            f"--member={invoker} --role={INVOKER_ROLE}"
        ),
        required_role="roles/run.admin",
        params={"name": service, "member": invoker, "role": INVOKER_ROLE},
    )


def wait_ready(ref: DeploymentRef, region: str, ctx: PlanContext) -> Step:
    service = service_name(ref, region, ctx)
    return Step(
        key="wait_ready",
        title="Wait until the service is Ready",
        action="cloud_run.wait_ready",
        request=ApiRequest("run", "GET", f"/v2/{service}"),
        cli=(
            f"gcloud run services describe {ref.slug} --region={region} "
            "--format='value(status.url)'"
        ),
        required_role="roles/run.viewer",
        params={"name": service},
    )


def delete_service(ref: DeploymentRef, region: str, ctx: PlanContext) -> Step:
    service = service_name(ref, region, ctx)
    return Step(
        key="delete_service",
        title="Delete the Cloud Run service",
        action="cloud_run.delete_service",
        request=ApiRequest("run", "DELETE", f"/v2/{service}"),
        cli=f"gcloud run services delete {ref.slug} --region={region} --quiet",
        required_role="roles/run.admin",
        params={"name": service},
        billing="ends",
    )


def delete_image(ref: DeploymentRef, region: str, ctx: PlanContext) -> Step:
    package = package_name(ref, region, ctx)
    return Step(
        key="delete_image",
        title="Delete the image and all its tags",
        action="artifact_registry.delete_package",
        request=ApiRequest("artifactregistry", "DELETE", f"/v1/{package}"),
        cli=(
            f"gcloud artifacts packages delete {ref.slug} --repository={ctx.registry_repository} "
            f"--location={region} --quiet"
        ),
        required_role="roles/artifactregistry.admin",
        params={"name": package},
    )
