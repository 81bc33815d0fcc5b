"""A deployment's service account and weights bucket are its own, on GKE and on Cloud Run:
two deployments whose plans name the same account or bucket (as two teams' same slug did
before GKE's names carried tags; Cloud Run's still are the slug's) never adopt or delete
each other's. An account has no labels, so its owner is noted in its description; the
sandbox keeps and returns it as IAM does; a bucket carries labels. A Cloud Run row made
before they carried an owner (migration 0011) takes and deletes them by name, as it did.
"""

import importlib
from dataclasses import replace
from typing import Any

import pytest
from django.apps import apps

from deployments.choices import Status
from deployments.models import Deployment
from deployments.plans import ref_for
from deployments.targets.cloud_run_vllm import plan as cloud_run_vllm
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec, WeightsSource
from deployments.targets.gke_vllm import plan as gke_vllm
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext
from gcp import iam, storage
from runbook.executors import EXECUTORS
from runbook.ownership import owner_in_note
from runbook.results import Failed, Succeeded
from tests.factories import DeploymentFactory
from tests.step_claims import step_claim

CTX = PlanContext(
    project="hangar-sandbox", portal_service_account="portal@x", registry_repository="r"
)
SPEC = GkeVllmSpec(cluster=3, model="gemma-4-26b-a4b-it", region="us-central1", team_gpus=8)
RUN_SPEC = CloudRunVllmSpec(model="gemma-4-e2b-it", weights_source=WeightsSource.BUCKET)
A = DeploymentRef(id=41, slug="shared-slug", team_slug="team-a", attempt=1)
# Each target's (deploy plan, tear-down plan, spec).
TARGETS = {
    "gke-vllm": (gke_vllm.deploy_plan, gke_vllm.teardown_plan, SPEC),
    "cloud-run-vllm": (cloud_run_vllm.deploy_plan, cloud_run_vllm.teardown_plan, RUN_SPEC),
}
MIGRATION = importlib.import_module("deployments.migrations.0011_cloud_run_legacy_owner")


def _steps(ref, target="gke-vllm", deploy=True):
    make_deploy, make_teardown, spec = TARGETS[target]
    plan = (make_deploy if deploy else make_teardown)(ref, spec, CTX)
    return {s.key: s for s in plan.steps}


def _run(step):
    return EXECUTORS[step.action](step_claim(step, ""))


def _same_names_other_owner(step, other: DeploymentRef, target="gke-vllm"):
    """The step as another deployment's plan would make it if its names were the same: its
    owner is the other's (team and id), its body unchanged but for the owner."""
    theirs = _steps(other, target, deploy=step.key.startswith("ensure"))
    return replace(step, params={**step.params, "owner": theirs[step.key].params["owner"]})


def _account_name(account_id: str) -> str:
    return (
        f"projects/{CTX.project}/serviceAccounts/{account_id}@{CTX.project}.iam.gserviceaccount.com"
    )


@pytest.mark.parametrize("target", TARGETS)
def test_a_service_account_notes_its_owner_and_is_only_adopted_or_deleted_by_it(sandbox, target):
    ensure = _steps(A, target)["ensure_service_account"]
    assert isinstance(_run(ensure), Succeeded)
    name = _account_name(ensure.params["account_id"])
    # What IAM returns is what was sent: the note names team and deployment.
    assert owner_in_note(iam.service_account_description(name)) == ensure.params["owner"]

    assert isinstance(_run(ensure), Succeeded)  # its own, after a crash: adopted
    other = replace(A, id=42, team_slug="team-b")
    refused = _run(_same_names_other_owner(ensure, other, target))
    assert isinstance(refused, Failed)
    assert "team-a" in refused.error and "id 41" in refused.error

    delete = _steps(A, target, deploy=False)["delete_service_account"]
    left = _run(_same_names_other_owner(delete, other, target))
    assert isinstance(left, Succeeded) and "left in place" in left.message
    assert iam.service_account_description(name) is not None
    assert isinstance(_run(delete), Succeeded)
    assert iam.service_account_description(name) is None


@pytest.mark.parametrize("target", TARGETS)
def test_a_bucket_carries_its_owner_labels_and_is_only_adopted_or_deleted_by_it(sandbox, target):
    ensure = _steps(A, target)["ensure_bucket"]
    bucket = ensure.params["bucket"]
    assert isinstance(_run(ensure), Succeeded)
    labels = storage.bucket_labels(bucket) or {}
    assert labels["hangar-deployment-id"] == "41" and labels["hangar-team"] == "team-a"

    assert isinstance(_run(ensure), Succeeded)  # its own: adopted
    other = replace(A, id=42, team_slug="team-b")
    refused = _run(_same_names_other_owner(ensure, other, target))
    assert isinstance(refused, Failed)
    assert "team-a" in refused.error

    delete = _steps(A, target, deploy=False)["delete_bucket"]
    left = _run(_same_names_other_owner(delete, other, target))
    assert isinstance(left, Succeeded) and "left in place" in left.message
    assert storage.bucket_labels(bucket) is not None
    assert isinstance(_run(delete), Succeeded)
    assert storage.bucket_labels(bucket) is None


def _run_row(slug: str) -> Any:
    return DeploymentFactory(
        target="cloud-run-vllm",
        slug=slug,
        model=RUN_SPEC.model,
        spec=RUN_SPEC.spec_json(),
        status=Status.READY,  # rolled out: migration 0011 marks no row that has not started
    )


@pytest.mark.django_db
def test_a_cloud_run_row_made_before_owners_deletes_its_account_and_bucket_by_name(sandbox):
    row = _run_row("made-before")
    MIGRATION.mark_legacy(apps, None)
    ref = ref_for(Deployment.objects.get(pk=row.pk))
    assert ref.legacy_names
    # Its account and bucket as Cloud Run made them before owners: its plan's, unchecked.
    deploy = _steps(ref, "cloud-run-vllm")
    for key in ("ensure_service_account", "ensure_bucket"):
        assert "owner" not in deploy[key].params
        assert isinstance(_run(deploy[key]), Succeeded)
    account = _account_name(deploy["ensure_service_account"].params["account_id"])
    bucket = deploy["ensure_bucket"].params["bucket"]
    assert owner_in_note(iam.service_account_description(account)) == {}
    assert "hangar-deployment-id" not in (storage.bucket_labels(bucket) or {})

    # Unmarked, its tear down would read no owner on them and leave them (billed).
    unmarked = _steps(replace(ref, legacy_names=False), "cloud-run-vllm", deploy=False)
    assert "left in place" in _run(unmarked["delete_bucket"]).message
    assert storage.bucket_labels(bucket) is not None

    teardown = _steps(ref, "cloud-run-vllm", deploy=False)
    for key in ("delete_bucket", "delete_service_account"):
        assert "owner" not in teardown[key].params
        assert isinstance(_run(teardown[key]), Succeeded)
    assert storage.bucket_labels(bucket) is None
    assert iam.service_account_description(account) is None


@pytest.mark.django_db
def test_migration_0011_marks_cloud_run_rows_only():
    cloud_run = _run_row("run-row")
    ollama = DeploymentFactory(target="cloud-run-ollama", slug="ollama-row", status=Status.READY)
    gke = DeploymentFactory(
        target="gke-vllm", slug="gke-row", spec=SPEC.spec_json(), status=Status.READY
    )
    MIGRATION.mark_legacy(apps, None)
    new = _run_row("new-row")
    for row in (cloud_run, ollama):
        assert ref_for(Deployment.objects.get(pk=row.pk)).legacy_names
    assert not ref_for(Deployment.objects.get(pk=new.pk)).legacy_names
    assert not ref_for(Deployment.objects.get(pk=gke.pk)).legacy_names  # 0010's to mark
    spec = CloudRunVllmSpec.from_deployment(Deployment.objects.get(pk=cloud_run.pk))
    assert spec.spec_json()["legacy_names"] is True  # kept through a save of its spec
    MIGRATION.unmark(apps, None)
    assert not ref_for(Deployment.objects.get(pk=cloud_run.pk)).legacy_names
