"""The REST API against its own OpenAPI schema, with generated requests (schemathesis).

Every operation gets requests built from the schema (valid and invalid) with a team
token; none may answer with a 5xx, and every answer the schema describes must match it.
Bounded in time for CI: a fixed number of examples per operation, no deadline per example.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal.services import api_token_create
from tests.factories import DeploymentFactory

# About 30 s on this machine for every operation; raise it locally to look harder.
EXAMPLES_PER_OPERATION = int(os.environ.get("HANGAR_FUZZ_EXAMPLES", "15"))

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def in_test_transaction():
    """Keep the test's connection open across WSGI calls, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def team_bearer(db, team, team_admin, deployer, monkeypatch, in_test_transaction):
    monkeypatch.setattr("runbook.dispatch.current_app.send_task", lambda *a, **k: None)
    DeploymentFactory(team=team, requested_by=deployer)
    _, secret = api_token_create(team=team, owner=team_admin, name="fuzz")
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_answers_match_the_schema(case, team_bearer):
    response = case.call(headers=team_bearer)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
