"""The Cloud Build step any target that builds an image or fetches weights uses: an inline
build (no source upload), tagged per deployment attempt so a resumed step finds the build
it already started instead of starting a second one; and its cancellation on tear down."""

import base64
import json
import shlex

from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.plan import ApiRequest, Step

DOCKER_BUILDER = "gcr.io/cloud-builders/docker"


def write_dockerfile(dockerfile: str) -> dict[str, object]:
    """The build's first step: the Dockerfile travels inline (no source upload), base64 in
    an env var so no quoting can break it."""
    encoded = base64.b64encode(dockerfile.encode()).decode()
    return {
        "id": "write-dockerfile",
        "name": DOCKER_BUILDER,
        "entrypoint": "bash",
        # `$$` is Cloud Build's escape for a literal `$`: bash reads the env var.
        "args": ["-c", 'echo "$$DOCKERFILE_B64" | base64 -d > Dockerfile'],
        "env": [f"DOCKERFILE_B64={encoded}"],
    }


# A build that names its account must send its logs to Cloud Logging (or to a bucket of
# its own); the account then needs roles/logging.logWriter
# (https://cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts).
BUILD_LOGGING = "CLOUD_LOGGING_ONLY"


def build_account(ctx: PlanContext) -> str:
    """The account every build runs as, named in the build as Cloud Build wants it."""
    return f"projects/{ctx.project}/serviceAccounts/{ctx.builder}"


def location(region: str, ctx: PlanContext) -> str:
    return f"projects/{ctx.project}/locations/{region}"


def build_tag(ref: DeploymentRef) -> str:
    """Unique per deployment attempt: a resumed step finds the build it already started."""
    return f"hangar-d{ref.id}-a{ref.attempt}"


def run_build(
    ref: DeploymentRef,
    region: str,
    ctx: PlanContext,
    *,
    key: str,
    title: str,
    body: dict[str, object],
) -> Step:
    """An inline Cloud Build (no source upload), tagged so a resumed step finds its build."""
    loc = location(region, ctx)
    return Step(
        key=key,
        title=title,
        action="cloud_build.run_build",
        request=ApiRequest("cloudbuild", "POST", f"/v1/{loc}/builds", body),
        cli=(
            f"gcloud builds submit --no-source --region={region} "
            f"--config=<(echo {shlex.quote(json.dumps(body))})"
        ),
        # ...and roles/iam.serviceAccountUser on the build account (act as it).
        required_role="roles/cloudbuild.builds.editor",
        params={"parent": loc, "tag": build_tag(ref)},
    )


def cancel_build(ref: DeploymentRef, region: str, ctx: PlanContext, *, tag: str) -> Step:
    loc = location(region, ctx)
    return Step(
        key="cancel_build",
        title="Cancel the build if it is still running",
        action="cloud_build.cancel_build",
        request=ApiRequest("cloudbuild", "POST", f"/v1/{loc}/builds/BUILD_ID:cancel"),
        cli=f"gcloud builds cancel BUILD_ID --region={region}",
        required_role="roles/cloudbuild.builds.editor",
        params={"parent": loc, "tag": tag},
    )
