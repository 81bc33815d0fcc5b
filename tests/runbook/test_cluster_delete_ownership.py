"""A cluster's delete step removes only a cluster Hangar made (its managed-by label): one
that someone else made under the same name, after Hangar's was deleted outside it (a lost
cluster being removed), is left in place."""

import time

import pytest

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan
from gcp import container
from runbook.executors import EXECUTORS
from runbook.results import Succeeded, Waiting
from tests.step_claims import step_claim

pytestmark = pytest.mark.django_db

PARENT = "projects/hangar-sandbox/locations/us-central1"


def _delete_step(name: str):
    ref = ClusterRef("hangar-sandbox", "us-central1", name, "REGULAR")
    return cluster_plan(ClusterPhase.DELETE, ref).step("delete_cluster")


def _make(name: str, labels: dict[str, str]) -> None:
    body = {"cluster": {"name": name, "autopilot": {"enabled": True}, "resourceLabels": labels}}
    container.create_cluster(parent=PARENT, body=body)
    deadline = time.monotonic() + 60
    while container.get_cluster(f"{PARENT}/clusters/{name}").status != "RUNNING":
        assert time.monotonic() < deadline, f"{name} never ran"
        time.sleep(0.1)


def test_a_cluster_hangar_did_not_make_is_left_in_place(sandbox):
    sandbox.config(operation_delay=0.1)
    _make("theirs", {"owner": "someone-else"})
    step = _delete_step("theirs")

    result = EXECUTORS[step.action](step_claim(step))

    assert isinstance(result, Succeeded), result
    assert "left in place" in result.message
    assert container.get_cluster(f"{PARENT}/clusters/theirs").status == "RUNNING"
    assert sandbox.requests(path_regex="/clusters/theirs$", method="DELETE") == []


def test_a_cluster_hangar_made_is_deleted(sandbox):
    sandbox.config(operation_delay=0.1)
    _make("ours", {"managed-by": "hangar"})
    step = _delete_step("ours")

    result = EXECUTORS[step.action](step_claim(step))

    assert isinstance(result, Waiting) and result.operation, result
    assert len(sandbox.requests(path_regex="/clusters/ours$", method="DELETE")) == 1


def test_a_cluster_already_gone_is_done(sandbox):
    step = _delete_step("never-made")
    result = EXECUTORS[step.action](step_claim(step))
    assert isinstance(result, Succeeded) and "already gone" in result.message
