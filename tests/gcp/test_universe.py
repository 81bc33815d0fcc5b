"""The universe domain is configuration: with GCP["UNIVERSE_DOMAIN"] set to seed 003's
s3nsapis.fr, every client reaches SERVICE.s3nsapis.fr and the plans name accounts and the
Workload Identity pool as S3NS does; nothing is left on googleapis.com."""

from typing import Any

import google.auth
import pytest
from google.cloud import artifactregistry_v1, container_v1, run_v2
from google.cloud import secretmanager_v1 as secretmanager
from google.cloud.devtools import cloudbuild_v1
from google.oauth2 import credentials as oauth2

from deployments.plans import plan_context_from_settings
from deployments.targets.cloud_run_vllm import bodies as run_bodies
from deployments.targets.gke_vllm.plan import deploy_plan as gke_deploy_plan
from deployments.targets.gke_vllm.plan import server_name
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef
from gcp import clients, cloud_logging, storage
from gcp.project_checks import service_name

S3NS = "s3nsapis.fr"
REF = DeploymentRef(id=7, slug="gemma-26b", team_slug="ml-research", attempt=1)


@pytest.fixture
def s3ns(settings, monkeypatch) -> Any:
    """Hangar configured for S3NS, holding credentials of that universe (the libraries
    refuse credentials of another universe than the client's)."""
    settings.GCP = {
        **settings.GCP,
        "UNIVERSE_DOMAIN": S3NS,
        "API_ENDPOINT": "",
        "PROJECT": "acme-llm",
        "BUILD_SERVICE_ACCOUNT": "",
    }
    creds = oauth2.Credentials(token="t", universe_domain=S3NS)
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (creds, "acme-llm"))
    caches = (clients.credentials, storage._client, cloud_logging._client)
    for cached in caches:
        cached.cache_clear()
    yield creds
    for cached in caches:
        cached.cache_clear()


@pytest.mark.parametrize(
    ("client_class", "host"),
    [
        (container_v1.ClusterManagerClient, "container.s3nsapis.fr"),
        (run_v2.ServicesClient, "run.s3nsapis.fr"),
        (cloudbuild_v1.CloudBuildClient, "cloudbuild.s3nsapis.fr"),
        (artifactregistry_v1.ArtifactRegistryClient, "artifactregistry.s3nsapis.fr"),
        (secretmanager.SecretManagerServiceClient, "secretmanager.s3nsapis.fr"),
    ],
)
def test_the_official_clients_take_the_universe(s3ns, client_class, host):
    client = clients.make_client(client_class)
    assert client.universe_domain == S3NS
    assert client.api_endpoint == host


def test_storage_logging_and_the_rest_calls_take_the_universe(s3ns):
    assert storage._client("acme-llm").api_endpoint == "https://storage.s3nsapis.fr"
    assert cloud_logging._client()._connection.API_BASE_URL == "https://logging.s3nsapis.fr"
    assert clients.api_base("iam") == "https://iam.s3nsapis.fr"
    assert clients.api_base("cloudresourcemanager") == "https://cloudresourcemanager.s3nsapis.fr"
    assert service_name("run") == "run.s3nsapis.fr"


def test_the_sandbox_endpoint_still_wins(s3ns, settings):
    settings.GCP = {**settings.GCP, "API_ENDPOINT": "http://127.0.0.1:1"}
    assert clients.make_client(container_v1.ClusterManagerClient).api_endpoint == (
        "http://127.0.0.1:1"
    )
    assert clients.api_base("iam") == "http://127.0.0.1:1"


def test_the_plans_name_accounts_in_the_universe(s3ns):
    ctx = plan_context_from_settings()
    assert ctx.universe_domain == S3NS
    assert ctx.builder == "hangar-builder@acme-llm.s3ns.iam.gserviceaccount.com"
    assert run_bodies.service_account_email(REF, ctx).endswith(
        "@acme-llm.s3ns.iam.gserviceaccount.com"
    )


def test_the_gke_plan_names_accounts_and_the_pool_in_the_configured_universe(s3ns):
    spec = GkeVllmSpec(cluster=3, model="gemma-4-26b-a4b-it", region="us-central1", team_gpus=8)
    steps = {s.key: s for s in gke_deploy_plan(REF, spec, plan_context_from_settings()).steps}
    gsa = steps["grant_workload_identity"].params["email"]
    assert server_name(REF).startswith("gemma-26b-")  # the slug and the deployment's tag
    assert gsa.endswith("@acme-llm.s3ns.iam.gserviceaccount.com")
    assert steps["grant_workload_identity"].params["member"] == (
        f"serviceAccount:acme-llm.s3ns.svc.id.goog[hangar-ml-research/{server_name(REF)}]"
    )
    env = steps["apply_deployment"].request.body["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "GOOGLE_CLOUD_UNIVERSE_DOMAIN", "value": S3NS} in env["env"]


def test_an_unknown_universe_is_refused(settings):
    settings.GCP = {
        **settings.GCP,
        "UNIVERSE_DOMAIN": "example.org",
        "API_ENDPOINT": "",
        "BUILD_SERVICE_ACCOUNT": "",
    }
    with pytest.raises(ValueError, match="Unknown universe"):
        clients.api_base("iam")
    with pytest.raises(ValueError, match="Unknown universe"):
        plan_context_from_settings().builder  # noqa: B018 - the property derives the e-mail
