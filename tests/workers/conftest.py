"""Fixtures the worker tests share: the platform admin who manages clusters, and a GKE
client on the sandbox (to look at, or act on, clusters behind Hangar's back)."""

import pytest
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1

from tests.factories import platform_admin


@pytest.fixture
def admin():
    return platform_admin("root")


@pytest.fixture
def gke(sandbox_process):
    from gcp.clients import credentials

    return container_v1.ClusterManagerClient(
        transport="rest",
        client_options=ClientOptions(api_endpoint=sandbox_process.url),
        credentials=credentials(),
    )
