"""Measured spend of a GKE deployment from the lifetime of its node, against a hand count:
on the sandbox's clock (no waiting) an Autopilot node is created for the deployment's pod,
runs across midnight, outlives the pod until the autoscaler removes it, and the beat task's
service reads the cluster's API before, during and after."""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.pricing.estimator import cents
from deployments.services import deployment_request
from deployments.services.prices import price_table_active
from deployments.services.spend import spend_accrue
from gcp import container, kube
from metering.meters import GKE_NODE_LIFETIME, NodeMeter, meter_for
from metering.models import NodeLifetime, SpendDay
from metering.services import spend_measure
from portal.services_hf_token import hf_token_save
from tests.runbook.rollout_driver import sandbox_cluster
from tests.workers.test_rollout_cloud_run_vllm import HF_TOKEN

T0 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
NOV_30, DEC_1 = date(2026, 11, 30), date(2026, 12, 1)
DEADLINE_SECONDS = 30.0


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(
        "runbook.dispatch.current_app.send_task", lambda name, args, countdown: None
    )


def clock(sandbox, **body: Any) -> datetime:
    if body:
        response = requests.post(f"{sandbox.url}/_sandbox/clock", json=body, timeout=10)
        assert response.status_code == 200, response.text
    now = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00"))


def until(read, what: str) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=DEADLINE_SECONDS)
    while not (found := read()):
        assert datetime.now(UTC) < deadline, f"still waiting for {what}"
        time.sleep(0.05)
    return found


def row(deployment: Any, day: date) -> SpendDay:
    return SpendDay.objects.get(deployment=deployment, day=day)


def gke_vllm(team: Any, deployer: Any) -> tuple[Any, Any]:
    """A requested gke-vllm deployment on an Autopilot cluster, billed from T0."""
    cluster = sandbox_cluster(team)  # Autopilot, open to the team
    deployment: Any = deployment_request(
        team=team,
        requested_by=deployer,
        target="gke-vllm",
        slug="gemma-gke",
        values={"model": "gemma-4-26b-a4b-it", "cluster": cluster.pk},
        justification="metering",
    )
    Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=T0)
    deployment.refresh_from_db()
    return cluster, deployment


def server_name(deployment: Any) -> str:
    """The model server's Deployment, as the plan names it (slug and tag)."""
    return str(plan_for(deployment).step("apply_deployment").params["name"])


def apply_plan(deployment: Any, conn: kube.ClusterConn) -> None:
    for step in plan_for(deployment).steps:
        if step.action == "kube.apply":
            kube.apply(conn, step.request.body or {})


def test_a_node_from_creation_to_removal_matches_a_hand_count(sandbox, team, deployer):
    cluster, deployment = gke_vllm(team, deployer)
    meter = meter_for(deployment)
    assert isinstance(meter, NodeMeter) and meter.source == GKE_NODE_LIFETIME
    # The whole node by hand: the machine's list price per hour, Autopilot's premium on top.
    gke = price_table_active().data["gke"]
    hourly = Decimal(gke["machines_per_hour"][deployment.spec["machine_type"]])
    hourly *= 1 + Decimal(gke["autopilot_gpu_premium_percent"]) / 100
    assert meter.unit_price == hourly / 3600

    # Created: the plan's Kubernetes objects applied at 23:00; the pod gets a node.
    now = clock(sandbox, set=T0.isoformat())
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    apply_plan(deployment, conn)
    (node,) = until(lambda: kube.list_objects(conn, "v1", "Node"), "the pod's node")
    labels = node["metadata"]["labels"]
    assert labels["node.kubernetes.io/instance-type"] == deployment.spec["machine_type"]
    assert "cloud.google.com/gke-nodepool" in labels
    assert node["metadata"]["creationTimestamp"] == "2026-11-30T23:00:00Z"
    spend_measure(now=now)

    # Serving across midnight: read at 00:30.
    now = clock(sandbox, advance_seconds=5400)
    assert spend_measure(now=now).failed == 0
    assert row(deployment, DEC_1).billed_seconds == Decimal(1800)

    # The pod goes at 00:30; the node stays, unneeded, and is still read at 00:35.
    ns = meter.namespace
    kube.delete(conn, "apps/v1", "Deployment", server_name(deployment), ns)
    until(lambda: not kube.list_objects(conn, "v1", "Pod", ns), "the pod to go")
    now = clock(sandbox, advance_seconds=300)
    spend_measure(now=now)
    assert [n["metadata"]["name"] for n in kube.list_objects(conn, "v1", "Node")] == [
        node["metadata"]["name"]
    ]

    # 10 minutes unneeded: the autoscaler removes it at 00:40, between two reads.
    late = now
    clock(sandbox, advance_seconds=300)
    assert kube.list_objects(conn, "v1", "Node") == []
    now = clock(sandbox, advance_seconds=300)  # 00:45: the read finds it gone
    spend_measure(now=now)
    spend_measure(now=now)  # a repeated read changes nothing
    spend_measure(now=late)  # nor does a late one (it saw the node at 00:35)
    now = clock(sandbox, advance_seconds=1800)
    spend_measure(now=now)  # nor a later one
    (lifetime,) = NodeLifetime.objects.filter(deployment=deployment)
    assert lifetime.gone
    assert lifetime.last_seen_at == T0 + timedelta(minutes=100)  # removed at 00:40

    # Hand count: 30 Nov, 23:00-24:00 = 3,600 s; 1 Dec, 00:00 to its removal at 00:40
    # = 2,400 s (not to the last read that saw it, 00:35); each at the node's price.
    nov, dec = row(deployment, NOV_30), row(deployment, DEC_1)
    assert SpendDay.objects.filter(deployment=deployment).count() == 2
    assert (nov.billed_seconds, nov.measured) == (Decimal(3600), cents(3600 * hourly / 3600))
    assert (dec.billed_seconds, dec.measured) == (Decimal(2400), cents(2400 * hourly / 3600))
    assert nov.source == dec.source == GKE_NODE_LIFETIME


def test_a_node_pool_hangar_made_is_measured_while_it_lives(sandbox, team, team_admin, deployer):
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)  # the gated base model's
    cluster = sandbox_cluster(team, name="hangar-tests-std", autopilot=False)
    deployment: Any = deployment_request(
        team=team,
        requested_by=deployer,
        target="gke-inference-gateway",
        slug="llama-pool",
        values={"model": "llama-3.1-8b-instruct", "cluster": cluster.pk},
        justification="metering",
    )
    Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=T0)
    deployment.refresh_from_db()
    meter = meter_for(deployment)
    # The deployment's own pool, named for it (deployments/targets/gke/names.py).
    pool = plan_for(deployment).step("create_node_pool").params["name"].rsplit("/", 1)[-1]
    assert isinstance(meter, NodeMeter) and meter.node_pool == pool
    hourly = Decimal(
        price_table_active().data["gke"]["machines_per_hour"][deployment.spec["machine_type"]]
    )
    assert meter.unit_price == hourly / 3600  # Standard: no Autopilot premium

    # The pool the plan creates, asked for at 23:00.
    now = clock(sandbox, set=T0.isoformat())
    (create,) = [s for s in plan_for(deployment).steps if s.action == "container.create_node_pool"]
    container.create_node_pool(parent=create.params["parent"], body=create.request.body or {})
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    selector = f"cloud.google.com/gke-nodepool={pool}"
    nodes = until(
        lambda: kube.list_objects(conn, "v1", "Node", label_selector=selector), "the pool's nodes"
    )
    count = len(nodes)
    assert count == deployment.spec["nodes"] * len(create.request.body["nodePool"]["locations"])
    spend_measure(now=now)

    # Read at 00:20, the pool deleted at 00:30; the next read finds its nodes gone.
    now = clock(sandbox, advance_seconds=4800)
    spend_measure(now=now)
    clock(sandbox, advance_seconds=600)
    until(lambda: container.node_pool_status(create.params["name"]) == "RUNNING", "the pool")
    container.delete_node_pool(create.params["name"])
    until(
        lambda: not kube.list_objects(conn, "v1", "Node", label_selector=selector),
        "the pool's nodes to go",
    )
    now = clock(sandbox, advance_seconds=600)
    spend_measure(now=now)
    spend_measure(now=now)  # a repeated read changes nothing
    assert NodeLifetime.objects.filter(deployment=deployment, gone=True).count() == count

    # Hand count: each node 23:00-24:00 on 30 Nov and 00:00-00:30 (its removal, not its
    # last sight at 00:20) on 1 Dec.
    nov, dec = row(deployment, NOV_30), row(deployment, DEC_1)
    assert nov.billed_seconds == Decimal(3600 * count)
    assert dec.billed_seconds == Decimal(1800 * count)
    assert nov.measured == cents(3600 * count * hourly / 3600)
    assert dec.measured == cents(1800 * count * hourly / 3600)


def test_a_node_that_outlives_a_tear_down_past_midnight_is_measured_the_next_day(
    sandbox, team, deployer
):
    """Torn down at 23:55: the estimate's clock stops, but the emptied node bills until the
    autoscaler removes it, past midnight."""
    cluster, deployment = gke_vllm(team, deployer)
    clock(sandbox, set=T0.isoformat())
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    apply_plan(deployment, conn)
    until(lambda: kube.list_objects(conn, "v1", "Node"), "the pod's node")
    spend_measure(now=T0)

    now = clock(sandbox, advance_seconds=3300)  # 23:55: torn down
    spend_accrue(now=now)
    Deployment.objects.filter(pk=deployment.pk).update(cost_accrued_until=None)
    kube.delete(conn, "apps/v1", "Deployment", server_name(deployment), meter_namespace(deployment))
    until(
        lambda: not kube.list_objects(conn, "v1", "Pod", meter_namespace(deployment)),
        "the pod to go",
    )
    spend_measure(now=now)
    now = clock(sandbox, advance_seconds=330)  # 00:00:30, the node still there
    spend_measure(now=now)
    now = clock(sandbox, advance_seconds=210)  # 00:04, still there (9 minutes unneeded)
    spend_measure(now=now)
    clock(sandbox, advance_seconds=60)  # 00:05: removed
    assert kube.list_objects(conn, "v1", "Node") == []
    now = clock(sandbox, advance_seconds=600)  # 00:15: read
    spend_measure(now=now)

    assert row(deployment, NOV_30).billed_seconds == Decimal(3600)
    assert row(deployment, DEC_1).billed_seconds == Decimal(300)  # 00:00 to its removal


def test_a_node_whose_removal_record_expired_ends_at_its_last_sight(sandbox, team, deployer):
    """Events live an hour: read after its removal's event is gone, a node ends where it was
    last seen; until the hour is up a read without the record leaves the node open."""
    cluster, deployment = gke_vllm(team, deployer)
    clock(sandbox, set=T0.isoformat())
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    apply_plan(deployment, conn)
    until(lambda: kube.list_objects(conn, "v1", "Node"), "the pod's node")
    spend_measure(now=T0)
    ns = meter_namespace(deployment)
    kube.delete(conn, "apps/v1", "Deployment", server_name(deployment), ns)
    until(lambda: not kube.list_objects(conn, "v1", "Pod", ns), "the pod to go")
    seen = clock(sandbox, advance_seconds=300)  # 23:05, last sight
    spend_measure(now=seen)
    clock(sandbox, advance_seconds=300)  # 23:10: removed
    assert kube.list_objects(conn, "v1", "Node") == []

    def removals() -> list[dict[str, Any]]:
        events = kube.list_objects(conn, "v1", "Event", "default")
        return [e for e in events if e["reason"] == "RemovingNode"]

    for event in removals():  # as if the hour were up: the record expired
        kube.delete(conn, "v1", "Event", event["metadata"]["name"], "default")
    until(lambda: not removals(), "the removal event to go")

    spend_measure(now=clock(sandbox, advance_seconds=600))  # 23:20: within the hour
    (lifetime,) = NodeLifetime.objects.filter(deployment=deployment)
    assert not lifetime.gone
    spend_measure(now=clock(sandbox, advance_seconds=3600))  # 00:20
    lifetime.refresh_from_db()
    assert lifetime.gone and lifetime.last_seen_at == seen
    assert row(deployment, NOV_30).billed_seconds == Decimal(300)


def meter_namespace(deployment: Any) -> str:
    meter = meter_for(deployment)
    assert isinstance(meter, NodeMeter)
    return meter.namespace
