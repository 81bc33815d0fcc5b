"""A pod the team namespace's ResourceQuota refuses, through a real worker: Kubernetes says
so at once (the ReplicaSet's FailedCreate, the Deployment's ReplicaFailure), and so does
the rollout, naming the quota, instead of waiting out the Deployment's deadline; its tear
down then leaves nothing of it on the cluster."""

import pytest

from clusters.selectors import cluster_connection
from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.services.rollout import rollout_schedule
from gcp import kube
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.factories import TeamFactory
from tests.plan_variants import plan_variants
from tests.runbook.rollout_driver import deployment_for, tear_down
from tests.workers.helpers import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_pod_refused_by_the_resource_quota_fails_the_rollout_at_once_naming_it(sandbox, worker):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3, account_propagation_delay=0.3)
    variant, spec = next((v, s) for v, s in plan_variants() if v.startswith("gke-vllm"))
    deployment = deployment_for(variant, spec, TeamFactory(slug="quota-team"), "quota-refused")
    # The team may hold no GPU on the cluster now (a platform admin lowered its quota
    # after the approval): the namespace's ResourceQuota is written with that.
    Deployment.objects.filter(pk=deployment.pk).update(spec={**deployment.spec, "team_gpus": 0})
    rollout_schedule(deployment_id=deployment.pk)

    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=120)
    assert deployment.status == Status.FAILED
    assert deployment.failure_step == "wait_available"
    assert "Kubernetes refused the pod" in deployment.failure_message
    assert "exceeded quota: hangar-gpus" in deployment.failure_message
    assert "ResourceQuota hangar-gpus" in deployment.failure_hint
    wait = runs_of("deployment", deployment.pk).get(step="wait_available")
    assert wait.outcome == Outcome.FAILED
    # What Kubernetes said failed it, not the wait's own deadline running out.
    assert "past its deadline" not in deployment.failure_message
    namespace = plan_for(deployment, Phase.DEPLOY).step("wait_available").params["namespace"]
    conn = cluster_connection(cluster_id=int(deployment.spec["cluster"]))
    assert kube.list_objects(conn, "v1", "Pod", namespace) == []  # none was ever admitted

    deployment = tear_down(deployment)
    deployment = wait_for_status(deployment, Status.TORN_DOWN, Status.FAILED, timeout=120)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message
    assert kube.list_objects(conn, "apps/v1", "Deployment", namespace) == []
    assert kube.list_objects(conn, "v1", "Pod", namespace) == []
