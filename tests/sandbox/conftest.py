"""One sandbox process for the whole session, started at import time so that
google-auth (which reads GCE_METADATA_HOST on import) points at it."""

from __future__ import annotations

import atexit

import pytest

from sandbox.testing import SandboxClient, SandboxProcess, point_google_auth_at

FAST = {"operation_delay": 0.3, "model_load_delay": 0.3, "token_delay": 0.0}

_PROCESS = SandboxProcess.start(**FAST)
atexit.register(_PROCESS.stop)
point_google_auth_at(_PROCESS.host_port)

import google.auth  # noqa: E402
import google.auth.transport.requests  # noqa: E402
from google.api_core.client_options import ClientOptions  # noqa: E402
from google.cloud import artifactregistry_v1, run_v2  # noqa: E402
from google.cloud.devtools import cloudbuild_v1  # noqa: E402

PROJECT = "hangar-sandbox"
SERVICE_ACCOUNT = "hangar-portal@hangar-sandbox.iam.gserviceaccount.com"


@pytest.fixture(scope="session")
def sandbox_process() -> SandboxProcess:
    return _PROCESS


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess) -> SandboxClient:
    """A control client on a freshly reset sandbox with fast timings."""
    client = SandboxClient(sandbox_process.url)
    client.reset()
    client.config(**FAST)
    return client


@pytest.fixture(scope="session")
def credentials():
    creds, project = google.auth.default()
    assert project == PROJECT
    # google-auth looks up a "regional access boundary" at iamcredentials.googleapis.com
    # in a background thread; there is no network here, so skip it (private flag).
    creds._rab_disabled = True
    return creds


def _options(process: SandboxProcess) -> ClientOptions:
    return ClientOptions(api_endpoint=process.url)


@pytest.fixture(scope="session")
def run_client(sandbox_process, credentials):
    return run_v2.ServicesClient(
        transport="rest", client_options=_options(sandbox_process), credentials=credentials
    )


@pytest.fixture(scope="session")
def build_client(sandbox_process, credentials):
    return cloudbuild_v1.CloudBuildClient(
        transport="rest", client_options=_options(sandbox_process), credentials=credentials
    )


@pytest.fixture(scope="session")
def registry_client(sandbox_process, credentials):
    return artifactregistry_v1.ArtifactRegistryClient(
        transport="rest", client_options=_options(sandbox_process), credentials=credentials
    )


@pytest.fixture(scope="session")
def auth_request():
    return google.auth.transport.requests.Request()
