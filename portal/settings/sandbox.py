"""Point the Google clients at the sandbox (`python -m sandbox`) instead of Google.

google-auth finds the metadata server through GCE_METADATA_HOST / GCE_METADATA_IP;
the sandbox plays it, so tokens come from the same code path as on Google Cloud.
They must be set before any google module is imported, hence here, in settings.
"""

import os

from .base import GCP, env

SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8765")
GCP["API_ENDPOINT"] = GCP["API_ENDPOINT"] or SANDBOX_URL
# The build account the sandbox's project is set up with (sandbox/act_as.py).
GCP["BUILD_SERVICE_ACCOUNT"] = (
    GCP["BUILD_SERVICE_ACCOUNT"] or f"hangar-builder@{GCP['PROJECT']}.iam.gserviceaccount.com"
)

_sandbox_host = SANDBOX_URL.split("://", 1)[-1].rstrip("/")
os.environ.setdefault("GCE_METADATA_HOST", _sandbox_host)
os.environ.setdefault("GCE_METADATA_IP", _sandbox_host)
