"""Point the Google clients at the sandbox (`python -m sandbox`) instead of Google.

google-auth finds the metadata server through GCE_METADATA_HOST / GCE_METADATA_IP;
the sandbox plays it, so tokens come from the same code path as on Google Cloud.
They must be set before any google module is imported, hence here, in settings.
"""

import os

from .base import GCP, env

SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8765")
GCP["API_ENDPOINT"] = GCP["API_ENDPOINT"] or SANDBOX_URL
# The build account the sandbox's project is set up with (sandbox/core/project.py).
GCP["BUILD_SERVICE_ACCOUNT"] = (
    GCP["BUILD_SERVICE_ACCOUNT"] or f"hangar-builder@{GCP['PROJECT']}.iam.gserviceaccount.com"
)

# An internal GKE Gateway's address is a VPC address, an external one's a public address
# the sandbox made up: the sandbox is the HTTP proxy to both
# (gcp/endpoint_credentials.vpc_proxy_for). On Google Cloud the portal runs in the VPC.
GCP["VPC_HTTP_PROXY"] = SANDBOX_URL
GCP["PUBLIC_HTTP_PROXY"] = SANDBOX_URL

_sandbox_host = SANDBOX_URL.split("://", 1)[-1].rstrip("/")
os.environ.setdefault("GCE_METADATA_HOST", _sandbox_host)
os.environ.setdefault("GCE_METADATA_IP", _sandbox_host)


def _no_access_boundary_lookup() -> None:
    # google-auth (2.62) looks up a service account's Regional Access Boundary at
    # iamcredentials.googleapis.com, in a background thread, before a call to any endpoint
    # that is not regional, and the sandbox is such an endpoint. That host follows no
    # endpoint setting, so with the sandbox the lookup is switched off: nothing may reach
    # Google. (On Google Cloud the lookup stays as the library does it.)
    from google.auth import credentials

    with_boundary = getattr(credentials, "CredentialsWithRegionalAccessBoundary", None)
    if with_boundary is not None:
        with_boundary._is_regional_access_boundary_lookup_required = lambda self: False


_no_access_boundary_lookup()
