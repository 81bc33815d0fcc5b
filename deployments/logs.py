"""What the deployment page shows of Google's logs: the build's output and the running
service's, read from Cloud Logging (gcp/cloud_logging.py), newest first.

Which build and which service come from the rollout itself: the build the build step
recorded (`outputs["build"]`), and the Cloud Run services the plan applies (their resource
names), so no target is asked for by name.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from deployments.choices import Phase
from deployments.models import Deployment
from deployments.plans import plan_for
from gcp import cloud_logging
from gcp.text import google_message

SERVICE_NAME = re.compile(r"projects/[^/]+/locations/(?P<region>[^/]+)/services/(?P<service>[^/]+)")
# Lines per log on the page; Cloud Logging's console has the rest.
LINES = 100


@dataclass
class LogPanel:
    title: str
    lines: list[cloud_logging.LogLine] = field(default_factory=list)
    error: str = ""


def deployment_logs(*, deployment: Deployment) -> list[LogPanel]:
    """The build's and the service's log, each newest first; an unreadable log says why."""
    panels = []
    build = str(deployment.outputs.get("build", ""))
    if build:
        panels.append(
            _read(f"Build {build.rsplit('/', 1)[-1]}", cloud_logging.build_log, build_name=build)
        )
    for region, service in _services(deployment):
        panels.append(
            _read(
                f"Cloud Run service {service} ({region})",
                cloud_logging.service_log,
                service=service,
                region=region,
            )
        )
    return panels


def _services(deployment: Deployment) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for step in plan_for(deployment, Phase.DEPLOY).steps:
        match = SERVICE_NAME.fullmatch(str(step.params.get("name", "")))
        if match:
            found[(match["region"], match["service"])] = None
    return list(found)


def _read(title: str, read: Any, **kwargs: Any) -> LogPanel:
    try:
        return LogPanel(title, read(limit=LINES, **kwargs))
    except gexc.GoogleAPICallError as exc:
        return LogPanel(title, error=f"Cloud Logging refused: {google_message(exc)}")
    except (auth_exc.GoogleAuthError, OSError) as exc:
        return LogPanel(title, error=f"Could not reach Cloud Logging: {exc}")
