"""The sandbox (stand-in for Google Cloud) for tests that reach Google through the real clients."""

from urllib.parse import urlparse

import pytest
from django.conf import settings

from sandbox.testing import SandboxClient, SandboxProcess, point_google_auth_at

# A new service account is usable at once here; tests of the wait set a delay themselves.
FAST = {
    "operation_delay": 0.3,
    "model_load_delay": 0.3,
    "token_delay": 0.0,
    "account_propagation_delay": 0.0,
}


@pytest.fixture(scope="session")
def sandbox_process():
    # The port is fixed by settings: google-auth reads the metadata host at import time.
    port = urlparse(settings.SANDBOX_URL).port
    with SandboxProcess.start(port=port, **FAST) as process:  # stopped however the session ends
        point_google_auth_at(process.host_port)  # also hides any local gcloud credentials
        yield process


@pytest.fixture
def sandbox(sandbox_process):
    """A clean sandbox with short delays; its client reads the request log and state."""
    client = SandboxClient(sandbox_process.url)
    client.reset()
    client.config(**FAST)
    return client
