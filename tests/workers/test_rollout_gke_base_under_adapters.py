"""A base torn down under its adapters, by a real Celery worker against the sandbox (issue
21, item 3): the adapters go first on their own records, the last one queues the base's
tear down again, and the base then removes everything of its own; nothing an adapter wrote
is made again after the base removed it. Requests, approvals and the tear down go through
the API, as a team and an approver would."""

import pytest

from deployments.choices import Phase, Status
from deployments.models import DeploymentEvent
from deployments.plans import plan_for
from deployments.targets.gke_vllm import identity
from gcp import container, kube
from portal.services_hf_token import hf_token_save
from runbook.ledger import runs_of
from tests.runbook.rollout_driver import sandbox_cluster
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import HF_TOKEN, request_and_approve

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_tearing_a_base_down_takes_its_adapters_first(
    api, team, team_admin, team_token, approver, sandbox, worker
):
    sandbox.config(operation_delay=0.1, model_load_delay=0.1)
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)
    cluster = sandbox_cluster(team, name="shared-std", autopilot=False)
    base = request_and_approve(
        api,
        team_token,
        approver,
        "llama-lora",
        target="gke-inference-gateway",
        model="llama-3.1-8b-instruct",
        cluster=cluster.pk,
    )
    base = wait_for_status(base, Status.READY, Status.FAILED, timeout=120)
    assert base.status == Status.READY, (base.failure_step, base.failure_message)
    adapters = [
        request_and_approve(
            api,
            team_token,
            approver,
            slug,
            target="gke-inference-gateway-adapter",
            model="llama-3.1-8b-instruct",
            base=base.pk,
            name=name,
            source=f"someone/{name}-r8",
            rank=8,
        )
        for slug, name in (("sql-lora", "sql-expert"), ("chat-lora", "chat-style"))
    ]
    for row in adapters:
        row = wait_for_status(row, Status.READY, Status.FAILED, timeout=60)
        assert row.status == Status.READY, (row.failure_step, row.failure_message)

    # The API names what runs on the base, and what each adapter runs on.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {team_token}")
    shown = api.get(f"/api/v1/deployments/{base.pk}/").json()
    assert [d["slug"] for d in shown["dependents"]] == ["sql-lora", "chat-lora"]
    assert api.get(f"/api/v1/deployments/{adapters[0].pk}/").json()["depends_on"] == base.pk
    api.credentials()

    api.force_authenticate(approver)
    asked = api.post(f"/api/v1/deployments/{base.pk}/tear-down/", {"reason": "done"}, "json")
    assert asked.status_code == 200, asked.json()
    api.force_authenticate(None)
    base = wait_for_status(base, Status.TORN_DOWN, Status.FAILED, timeout=120)
    assert base.status == Status.TORN_DOWN, (base.failure_step, base.failure_message)
    for row in adapters:
        row.refresh_from_db()
        assert row.status == Status.TORN_DOWN, (row.failure_step, row.failure_message)
        moved = DeploymentEvent.objects.get(deployment=row, to_status=Status.TEARING_DOWN)
        assert "its base llama-lora is being torn down" in moved.message
        last = runs_of("deployment", row.pk).filter(phase="teardown").order_by("pk").last()
        first = runs_of("deployment", base.pk).filter(phase="teardown").order_by("pk").first()
        assert last is not None and first is not None and last.pk < first.pk

    # Nothing of the base's or its adapters' is left, the lora-syncer's list included.
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    ns = identity.team_namespace(team.slug)
    for api_version, kind in [
        ("v1", "ConfigMap"),
        ("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective"),
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("apps/v1", "Deployment"),
    ]:
        assert (
            kube.list_objects(conn, api_version, kind, ns, label_selector="managed-by=hangar") == []
        )
    pool = plan_for(base, Phase.TEARDOWN).step("delete_node_pool").params["name"]
    assert container.node_pool_labels(pool) is None
