"""Transient errors on many calls of one step, as Google answers them, through a real worker:
each call is retried on its own count, which starts again once it gets through. A tear
down whose every object delete meets three 503s before it succeeds is torn down, although
together they are more than the retries one call may take."""

import pytest

from deployments.choices import Status
from portal.services_hf_token import hf_token_save
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import HF_TOKEN, request_and_approve, tear_down

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAILURES_PER_CALL = 3


def test_a_tear_down_with_503s_on_every_object_delete_is_torn_down(
    api, team, team_admin, team_token, approver, sandbox, worker, settings
):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)
    deployment = request_and_approve(
        api, team_token, approver, "vllm-503s", weights_source="bucket", max_model_len=8192
    )
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=90)
    assert deployment.status == Status.READY, deployment.failure_message
    [bucket] = sandbox.state()["buckets"]
    objects = list(bucket["objects"])
    # Together the failures are more than one call may meet: counted per step, the tear
    # down would fail; counted per call, each call has room for its own.
    assert FAILURES_PER_CALL * len(objects) > settings.ROLLOUT["MAX_RETRIES"] >= FAILURES_PER_CALL

    sandbox.clear_requests()
    sandbox.add_fault(
        method="DELETE",
        path=rf"/storage/v1/b/{bucket['name']}/o/",
        status=503,
        times=FAILURES_PER_CALL,
        per_call=True,
    )
    deployment = tear_down(api, approver, deployment)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message

    deletes = sandbox.requests(path_regex=rf"/b/{bucket['name']}/o/", method="DELETE")
    per_object: dict[str, int] = {}
    for entry in deletes:
        per_object[entry["path"]] = per_object.get(entry["path"], 0) + 1
    # Every object: three 503s, then the delete that went through; nothing deleted twice
    # after it was gone, and the bucket went with them.
    assert len(per_object) == len(objects)
    assert set(per_object.values()) == {FAILURES_PER_CALL + 1}
    assert sandbox.state()["buckets"] == []
    step = runs_of("deployment", deployment.pk).get(phase="teardown", step="delete_bucket")
    assert step.outcome == Outcome.SUCCEEDED
