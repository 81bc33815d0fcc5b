"""Official Google clients pointed at the session's sandbox (tests/sandbox_fixtures.py).

The portal's test settings set GCE_METADATA_HOST before google-auth is imported, and
the session fixture starts the sandbox on that address, so there is one sandbox only.
"""

from __future__ import annotations

import google.auth
import google.auth.transport.requests
import pytest
from google.api_core.client_options import ClientOptions
from google.cloud import artifactregistry_v1, run_v2
from google.cloud.devtools import cloudbuild_v1

from sandbox.testing import SandboxProcess

PROJECT = "hangar-sandbox"
SERVICE_ACCOUNT = "hangar-portal@hangar-sandbox.iam.gserviceaccount.com"


@pytest.fixture(scope="session")
def credentials(sandbox_process):
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
