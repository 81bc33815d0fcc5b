"""A GKE deployment rolled out before its objects' names carried a tag keeps the names it
was made with, so its tear down removes what actually runs (and is billed): migration 0010
marks every GKE row that may have made objects, and the plans of a marked row name its
objects as they were named then (slug alone, no id label). Rows made after, and rows that
had not started, get tags."""

import importlib
from typing import Any

import pytest
from django.apps import apps

from deployments.choices import Phase, Status
from deployments.models import Deployment
from deployments.plans import plan_for, ref_for
from deployments.targets.cloud_run_vllm import bodies as run_bodies
from deployments.targets.gke_inference_gateway.gateway import objective_name
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from deployments.targets.gke_inference_gateway_adapter.plan import base_ref
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec
from deployments.targets.gke_vllm.plan import teardown_plan as gke_vllm_teardown
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext
from runbook.ownership import DEPLOYMENT_ID_LABEL
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("deployments.migrations.0010_gke_legacy_names")
CLUSTER = "projects/hangar-sandbox/locations/us-central1/clusters/std"
# A slug past the 36 characters the old node-pool name kept.
SLUG = "poolcollide-0123456789abcdefghijklmn-a41"


def gateway_row(**kw: Any) -> Any:
    spec = GkeInferenceGatewaySpec(
        cluster=1, cluster_name=CLUSTER, region="us-central1", team_gpus=8
    )
    return DeploymentFactory(
        target="gke-inference-gateway",
        model=spec.model,
        region=spec.region,
        gpu_type=spec.gpu_type,
        gpu_count=spec.gpu_count,
        spec=spec.spec_json(),
        **kw,
    )


def teardown_of(row: Any) -> dict[str, Any]:
    plan = plan_for(Deployment.objects.get(pk=row.pk), Phase.TEARDOWN)
    return {s.key: s for s in plan.steps}


def test_rows_there_before_keep_their_names_and_new_rows_get_tags():
    before = gateway_row(slug=SLUG, status=Status.READY)
    cloud_run = DeploymentFactory(status=Status.READY)
    MIGRATION.mark_legacy(apps, None)
    # A new row whose slug shares the old name's 36 characters (slugs are unique while live).
    after = gateway_row(slug=SLUG.replace("-a41", "-b41"))

    assert ref_for(Deployment.objects.get(pk=before.pk)).legacy_names
    assert not ref_for(Deployment.objects.get(pk=after.pk)).legacy_names
    assert not ref_for(Deployment.objects.get(pk=cloud_run.pk)).legacy_names  # 0011's to mark

    old, new = teardown_of(before), teardown_of(after)
    # The pool as the old plan named it (the slug's first 36 characters), labelled then
    # without the deployment's id: the delete finds it and takes it as its own.
    assert old["delete_node_pool"].params["name"].endswith(f"/nodePools/{SLUG[:36]}-gpu")
    assert DEPLOYMENT_ID_LABEL not in old["delete_node_pool"].params["owner"]
    server = [s for k, s in old.items() if s.params.get("kind") == "Deployment"]
    assert sorted(s.params["name"] for s in server) == [SLUG, f"{SLUG}-epp"]
    objectives = [
        s.params["name"] for s in old.values() if s.params.get("kind") == "InferenceObjective"
    ]
    # Named after the served name alone, as they were then (not after the pool).
    assert objective_name(GkeInferenceGatewaySpec().hf_model.hf_id) in objectives
    assert not any(name.startswith(SLUG) for name in objectives)

    # The new row's names are its own, tagged, and claim its id.
    pool = new["delete_node_pool"].params["name"].rsplit("/", 1)[-1]
    assert pool.startswith(SLUG[:25]) and pool != f"{SLUG[:36]}-gpu" and pool.endswith("-gpu")
    assert new["delete_node_pool"].params["owner"][DEPLOYMENT_ID_LABEL] == str(after.pk)


@pytest.mark.parametrize("migration", ["0010_gke_legacy_names", "0011_cloud_run_legacy_owner"])
def test_rows_not_started_made_nothing_and_get_owned_names(migration):
    marked = importlib.import_module(f"deployments.migrations.{migration}").mark_legacy
    rows = {
        status: (
            gateway_row(slug=f"gw-{status}", status=status),
            DeploymentFactory(target="cloud-run-ollama", slug=f"run-{status}", status=status),
        )
        for status in (Status.PENDING_APPROVAL, Status.APPROVED, Status.FAILED)
    }
    marked(apps, None)
    gke = migration.startswith("0010")
    for status, (gateway, cloud_run) in rows.items():
        started = status == Status.FAILED
        assert ref_for(Deployment.objects.get(pk=gateway.pk)).legacy_names is (started and gke)
        assert ref_for(Deployment.objects.get(pk=cloud_run.pk)).legacy_names is (
            started and not gke
        )


def test_a_marked_row_keeps_its_spec_mark_through_a_save_of_its_spec():
    row = gateway_row(slug="kept", status=Status.READY)
    MIGRATION.mark_legacy(apps, None)
    row = Deployment.objects.get(pk=row.pk)
    spec = GkeInferenceGatewaySpec.from_values({**row.spec, "model": row.model})
    assert spec.legacy_names
    assert spec.spec_json()["legacy_names"] is True


def test_gke_vllm_legacy_names_are_the_ones_it_was_made_with():
    ref = DeploymentRef(id=7, slug="gemma-26b", team_slug="ml", attempt=1, legacy_names=True)
    ctx = PlanContext(project="p", portal_service_account="x", registry_repository="r")
    spec = GkeVllmSpec(cluster=3, model="gemma-4-26b-a4b-it", region="us-central1", team_gpus=8)
    steps = {s.key: s for s in gke_vllm_teardown(ref, spec, ctx).steps}
    assert steps["delete_bucket"].params["bucket"] == run_bodies.bucket_name(ref, ctx)
    assert run_bodies.service_account_id(ref) in steps["delete_service_account"].params["name"]
    deployment = [s for s in steps.values() if s.params.get("kind") == "Deployment"]
    assert [s.params["name"] for s in deployment] == ["gemma-26b"]


def test_an_adapter_names_its_base_as_the_base_was_made():
    ref = DeploymentRef(id=12, slug="sql-lora", team_slug="ml", attempt=1)
    base = GkeInferenceGatewaySpec(cluster=1, cluster_name=CLUSTER, region="us-central1")
    for legacy in (True, False):
        values = {**base.spec_json(), "model": base.model, "legacy_names": legacy}
        spec = GatewayAdapterSpec(base=5, base_slug="llama", base_values=values)
        assert base_ref(ref, spec).legacy_names is legacy
