"""One machine, no servers to install: SQLite, a file-system broker and the sandbox."""

import os

from .base import *  # noqa: F403
from .base import GCP, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# No default: scripts/run generates one into var/local.env on first start.
SECRET_KEY = env("DJANGO_SECRET_KEY")

SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8765")
GCP["API_ENDPOINT"] = GCP["API_ENDPOINT"] or SANDBOX_URL

# google-auth finds the metadata server through these; the sandbox plays it, so
# tokens come from the same code path as on Google Cloud. Set before any google import.
_sandbox_host = SANDBOX_URL.split("://", 1)[-1].rstrip("/")
os.environ.setdefault("GCE_METADATA_HOST", _sandbox_host)
os.environ.setdefault("GCE_METADATA_IP", _sandbox_host)
