"""A GKE deployment's service account and weights bucket are its own: two deployments whose
plans name the same account or bucket (as two teams' same slug did before names carried
tags) never adopt or delete each other's. An account has no labels, so its owner is noted
in its description; the sandbox keeps and returns it as IAM does; a bucket carries labels.
"""

from dataclasses import replace

from deployments.targets.gke_vllm.plan import deploy_plan, teardown_plan
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext
from gcp import iam, storage
from runbook.executors import EXECUTORS
from runbook.ownership import owner_in_note
from runbook.results import Failed, Succeeded
from tests.step_claims import step_claim

CTX = PlanContext(
    project="hangar-sandbox", portal_service_account="portal@x", registry_repository="r"
)
SPEC = GkeVllmSpec(cluster=3, model="gemma-4-26b-a4b-it", region="us-central1", team_gpus=8)
A = DeploymentRef(id=41, slug="shared-slug", team_slug="team-a", attempt=1)


def _steps(ref, phase=deploy_plan):
    return {s.key: s for s in phase(ref, SPEC, CTX).steps}


def _run(step):
    return EXECUTORS[step.action](step_claim(step, ""))


def _same_names_other_owner(step, other: DeploymentRef):
    """The step as another deployment's plan would make it if its names were the same: its
    owner is the other's (team and id), its body unchanged but for the owner."""
    theirs = _steps(other, deploy_plan if step.key.startswith("ensure") else teardown_plan)
    return replace(step, params={**step.params, "owner": theirs[step.key].params["owner"]})


def test_a_service_account_notes_its_owner_and_is_only_adopted_or_deleted_by_it(sandbox):
    ensure = _steps(A)["ensure_service_account"]
    assert isinstance(_run(ensure), Succeeded)
    name = f"projects/{CTX.project}/serviceAccounts/{ensure.params['account_id']}@"
    name += f"{CTX.project}.iam.gserviceaccount.com"
    # What IAM returns is what was sent: the note names team and deployment.
    assert owner_in_note(iam.service_account_description(name)) == ensure.params["owner"]

    assert isinstance(_run(ensure), Succeeded)  # its own, after a crash: adopted
    other = replace(A, id=42, team_slug="team-b")
    refused = _run(_same_names_other_owner(ensure, other))
    assert isinstance(refused, Failed)
    assert "team-a" in refused.error and "id 41" in refused.error

    delete = _steps(A, teardown_plan)["delete_service_account"]
    left = _run(_same_names_other_owner(delete, other))
    assert isinstance(left, Succeeded) and "left in place" in left.message
    assert iam.service_account_description(name) is not None
    assert isinstance(_run(delete), Succeeded)
    assert iam.service_account_description(name) is None


def test_a_bucket_carries_its_owner_labels_and_is_only_adopted_or_deleted_by_it(sandbox):
    ensure = _steps(A)["ensure_bucket"]
    bucket = ensure.params["bucket"]
    assert isinstance(_run(ensure), Succeeded)
    labels = storage.bucket_labels(bucket) or {}
    assert labels["hangar-deployment-id"] == "41" and labels["hangar-team"] == "team-a"

    assert isinstance(_run(ensure), Succeeded)  # its own: adopted
    other = replace(A, id=42, team_slug="team-b")
    refused = _run(_same_names_other_owner(ensure, other))
    assert isinstance(refused, Failed)
    assert "team-a" in refused.error

    delete = _steps(A, teardown_plan)["delete_bucket"]
    left = _run(_same_names_other_owner(delete, other))
    assert isinstance(left, Succeeded) and "left in place" in left.message
    assert storage.bucket_labels(bucket) is not None
    assert isinstance(_run(delete), Succeeded)
    assert storage.bucket_labels(bucket) is None
