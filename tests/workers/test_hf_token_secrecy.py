"""The team's Hugging Face token lives in Secret Manager and nowhere else.

One gated, baked rollout and its tear down through a real worker, then every place
the token could leak is searched: the database, the portal's and the worker's logs,
the plans, the events, the generated Dockerfile, and the sandbox's request log and
state (every build request included). Only Secret Manager gives it back.
"""

import base64
import io
import json
import logging

import pytest
from django.core.management import call_command
from google.cloud import secretmanager_v1

from deployments.choices import Phase, Status
from deployments.plans import plan_context_from_settings, plan_for
from deployments.targets import spec_for
from deployments.targets.cloud_run_vllm.bodies import dockerfile
from gcp.clients import make_client
from portal.services_hf_token import hf_token_save
from runbook.ledger import runs_of
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import request_and_approve, tear_down

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOKEN = "hf_LeakCanaryQwertyAsdfZxcv0123456789"
FORMS = (TOKEN, base64.b64encode(TOKEN.encode()).decode(), TOKEN[3:])


def assert_absent(where: str, text: str) -> None:
    for form in FORMS:
        assert form not in text, f"the token appears in {where}"


def test_the_token_is_only_in_secret_manager(
    api, team, team_admin, team_token, approver, sandbox, worker, caplog
):
    caplog.set_level(logging.DEBUG)
    record = hf_token_save(team=team, token=TOKEN, by=team_admin)
    deployment = request_and_approve(api, team_token, approver, "vllm-secret")
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED)
    assert deployment.status == Status.READY, deployment.failure_message
    plans = [plan_for(deployment, phase).as_dict() for phase in Phase]
    deployment = tear_down(api, approver, deployment)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert_absent("the database", dump.getvalue())
    assert_absent("the portal's log", caplog.text)
    assert_absent("the worker's log", worker.log.read_text())
    assert_absent("the plans", json.dumps(plans))
    events = [*deployment.events.values(), *runs_of("deployment", deployment.pk).values()]
    assert_absent("the events and step runs", json.dumps(events, default=str))
    assert_absent("the Dockerfile", dockerfile(spec_for(deployment), plan_context_from_settings()))
    builds = sandbox.requests(path_regex=r"/builds")
    assert builds, "the rollout built an image"
    assert_absent("the sandbox's request log", json.dumps(sandbox.requests()))
    assert_absent("the sandbox's state", json.dumps(sandbox.state()))

    client = make_client(secretmanager_v1.SecretManagerServiceClient)
    answer = client.access_secret_version(name=f"{record.secret_name}/versions/latest")
    assert answer.payload.data.decode() == TOKEN
