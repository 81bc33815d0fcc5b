"""Another platform's view of the API: a Python client generated from the live OpenAPI schema
by openapi-python-client (a well-known generator, pinned in requirements-dev) requests,
estimates, approves (with an approval token) and lists through its typed calls.

The schema must advertise JSON bodies only (the API parses only JSON: a generator that is
offered multipart sends multipart) and describe every response body, or the generated
calls send what the API refuses or hand back no parsed model. The generated code lives in
a temporary directory, never in the tree.
"""

import importlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import requests

from portal.services import approval_token_create

pytestmark = pytest.mark.django_db(transaction=True)

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "hangar_generated_client"
# No post hooks: formatting the generated code is not what is tested, and the hooks would
# look for a `ruff` on PATH.
CONFIG = f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    """An approved request is queued for a worker; none runs here."""
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)


@pytest.fixture
def client_package(live_server, tmp_path):
    """The client generated from the schema the live server serves, imported."""
    schema = tmp_path / "openapi.json"
    response = requests.get(f"{live_server.url}/api/schema/?format=json", timeout=30)
    response.raise_for_status()
    schema.write_bytes(response.content)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "generated"
    run = subprocess.run(
        [
            *(str(GENERATOR), "generate", "--path", str(schema), "--config", str(config)),
            *("--meta", "none", "--output-path", str(out / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Warnings mean the generator left a model or an operation out: the schema is wrong.
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _call(package: ModuleType, operation: str) -> ModuleType:
    """One generated operation module: its sync() sends the request, parses the reply."""
    return importlib.import_module(f"{package.__name__}.api.v1.{operation}")


def test_generated_client_requests_estimates_approves_and_lists(
    client_package, live_server, team_token, approver
):
    models = importlib.import_module(f"{client_package.__name__}.models")
    client_class = client_package.AuthenticatedClient
    team_client = client_class(base_url=live_server.url, token=team_token)
    model = models.CloudRunOllamaModelEnum("gemma3-4b")
    fields = {"team": "ml-research", "model": model, "max_instances": 2}

    estimate = _call(client_package, "v1_estimates_create").sync(
        client=team_client, body=models.CloudRunOllamaEstimateRequest(**fields)
    )
    assert isinstance(estimate, models.EstimateResponse), estimate
    assert estimate.estimate.price_version
    assert Decimal(estimate.estimate.hourly_max) > Decimal(estimate.estimate.hourly_min) == 0
    assert {option.target for option in estimate.comparison} >= {"cloud-run-ollama"}
    assert estimate.quota.gpu_type == "nvidia-l4"
    assert estimate.quota.requested == 2
    assert estimate.decision.outcome == "needs_approval"

    created = _call(client_package, "v1_deployments_create").sync(
        client=team_client,
        body=models.CloudRunOllamaNewDeploymentRequest(slug="gemma-client", **fields),
    )
    assert isinstance(created, models.Deployment), created
    assert created.status == models.DeploymentStatusEnum.PENDING_APPROVAL
    assert created.estimate.monthly == estimate.estimate.monthly

    plan = _call(client_package, "v1_deployments_plan_retrieve").sync(
        created.id, client=team_client
    )
    assert isinstance(plan, models.Plan), plan
    assert plan.deployment.slug == "gemma-client"
    assert plan.steps[0].request.method

    # A team token never approves; the error comes back as the schema's Error model.
    refused = _call(client_package, "v1_deployments_approve_create").sync(
        created.id, client=team_client, body=models.ApproveRequest(reason="mine")
    )
    assert isinstance(refused, models.Error), refused
    assert refused.error.code == "permission_denied"

    _, approval_secret = approval_token_create(owner=approver, name="ci-approver")
    approver_client = client_class(base_url=live_server.url, token=approval_secret)
    approved = _call(client_package, "v1_deployments_approve_create").sync(
        created.id, client=approver_client, body=models.ApproveRequest(reason="fits")
    )
    assert isinstance(approved, models.Deployment), approved
    assert approved.status == models.DeploymentStatusEnum.APPROVED
    assert approved.decided_by == approver.username

    listed = _call(client_package, "v1_deployments_list").sync(client=team_client)
    assert [(d.slug, d.status) for d in listed.results] == [
        ("gemma-client", models.DeploymentStatusEnum.APPROVED)
    ]
