"""What the deployment page shows of Google's logs: the build's output and the running
service's, read from Cloud Logging (gcp/cloud_logging.py), newest first.

Which logs: the deployment's target says (`TargetDef.log_sources`, from its spec and what
its rollout recorded: the build the build step ran, the Cloud Run service it applied), so
no target is asked for by name.
"""

from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from deployments.models import Deployment
from deployments.plans import ref_for
from deployments.targets import spec_for, target_for
from deployments.targets.capabilities import BuildLog, LogSource
from gcp import cloud_logging
from gcp.text import google_message

# Lines per log on the page; Cloud Logging's console has the rest.
LINES = 100


@dataclass
class LogPanel:
    title: str
    lines: list[cloud_logging.LogLine] = field(default_factory=list)
    error: str = ""


def deployment_logs(*, deployment: Deployment) -> list[LogPanel]:
    """Each log its target names, newest first; an unreadable log says why."""
    target, spec = target_for(deployment), spec_for(deployment)
    sources = target.log_sources(ref_for(deployment), spec, deployment.outputs)
    return [_panel(source) for source in sources]


def _panel(source: LogSource) -> LogPanel:
    if isinstance(source, BuildLog):
        title = f"Build {source.build.rsplit('/', 1)[-1]}"
        return _read(title, cloud_logging.build_log, build_name=source.build)
    return _read(
        f"Cloud Run service {source.service} ({source.region})",
        cloud_logging.service_log,
        service=source.service,
        region=source.region,
    )


def _read(title: str, read: Any, **kwargs: Any) -> LogPanel:
    try:
        return LogPanel(title, read(limit=LINES, **kwargs))
    except gexc.GoogleAPICallError as exc:
        return LogPanel(title, error=f"Cloud Logging refused: {google_message(exc)}")
    except (auth_exc.GoogleAuthError, OSError) as exc:
        return LogPanel(title, error=f"Could not reach Cloud Logging: {exc}")
