"""What a Google API error means for a rollout: retry later, or stop and say why."""

import re
from dataclasses import dataclass

from google.api_core import exceptions as gexc

TRANSIENT = (
    gexc.TooManyRequests,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.GatewayTimeout,
    gexc.DeadlineExceeded,
    gexc.Aborted,
)

_PERMISSION_RE = re.compile(r"Permission '([\w.]+)' denied")


@dataclass(frozen=True)
class Diagnosis:
    transient: bool
    message: str
    hint: str = ""


def _is_quota(exc: gexc.GoogleAPICallError) -> bool:
    return isinstance(exc, gexc.ResourceExhausted | gexc.TooManyRequests) and (
        "quota" in (exc.message or "").lower()
    )


def diagnose(exc: Exception, *, required_role: str, principal: str, project: str) -> Diagnosis:
    """Turn an exception from a Google client into a message a person can act on."""
    if isinstance(exc, TRANSIENT) and not _is_quota(exc):
        return Diagnosis(True, f"{exc.code} {type(exc).__name__}: {exc.message}")
    if isinstance(exc, gexc.GoogleAPICallError):
        message = f"{exc.code} {type(exc).__name__}: {exc.message}"
        # Over REST a 403 arrives as Forbidden, over gRPC as PermissionDenied.
        if isinstance(exc, gexc.PermissionDenied | gexc.Forbidden):
            match = _PERMISSION_RE.search(exc.message or "")
            missing = f"the permission {match.group(1)}, " if match else ""
            return Diagnosis(
                False,
                message,
                f"Hangar's identity {principal} lacks {missing}which the role {required_role} "
                f"grants. Grant it: gcloud projects add-iam-policy-binding {project} "
                f"--member=serviceAccount:{principal} --role={required_role}",
            )
        if _is_quota(exc):
            return Diagnosis(
                False,
                message,
                "A Google quota is exhausted. Ask for more quota on the Quotas page of the "
                "project, or lower max instances.",
            )
        return Diagnosis(False, message, "Check the request in the plan against Google's message.")
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return Diagnosis(True, f"Could not reach Google: {exc}")
    raise exc
