"""Every plan Hangar can make, pinned whole: deploy and tear down, for each target and each
weight source. A refactor keeps these files byte for byte; a deliberate change regenerates
them with UPDATE_SNAPSHOTS=1 and shows the difference in review."""

import json
import os
from pathlib import Path

import pytest

from deployments.targets.cloud_run_ollama import plan as cloud_run_ollama
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from deployments.targets.cloud_run_vllm import plan as cloud_run_vllm
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
from deployments.targets.gke_vllm import plan as gke_vllm
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext

SNAPSHOTS = Path(__file__).parent / "snapshots"
CTX = PlanContext(
    project="proj-1",
    portal_service_account="portal@proj-1.iam.gserviceaccount.com",
    registry_repository="hangar",
    vllm_image="vllm/vllm-openai:v0.21.0",
)
REF = DeploymentRef(id=7, slug="ollama-gemma", team_slug="ml", attempt=1)

CASES = {
    "cloud_run_ollama": (cloud_run_ollama, CloudRunOllamaSpec(model="gemma3-4b")),
    "cloud_run_vllm_baked_gated": (
        cloud_run_vllm,
        CloudRunVllmSpec(model="gemma-3-1b-it", weights_source="baked"),
    ),
    "cloud_run_vllm_bucket_gated": (
        cloud_run_vllm,
        CloudRunVllmSpec(model="gemma-3-1b-it", weights_source="bucket", max_model_len=8192),
    ),
    "cloud_run_vllm_bucket_open": (
        cloud_run_vllm,
        CloudRunVllmSpec(model="gemma-4-e2b-it", weights_source="bucket"),
    ),
    # Seed 003 as the form's defaults leave it (bound to a team: region, GPU ceiling).
    "gke_vllm_seed": (
        gke_vllm,
        GkeVllmSpec(cluster=3, model="gemma-4-26b-a4b-it", region="us-central1", team_gpus=8),
    ),
    # The 31B on the right-sized machine: two H100s, both the pod's.
    "gke_vllm_31b_right_sized": (
        gke_vllm,
        GkeVllmSpec(
            cluster=3,
            model="gemma-4-31b-it",
            machine_type="a3-highgpu-2g",
            gpu_count=2,
            region="us-central1",
            team_gpus=10,
        ),
    ),
}


@pytest.mark.parametrize("phase", ["deploy", "teardown"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_snapshot(case, phase):
    module, spec = CASES[case]
    build = module.deploy_plan if phase == "deploy" else module.teardown_plan
    current = json.dumps(build(REF, spec, CTX).as_dict(), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{case}_{phase}.json"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(current)
    assert path.exists(), f"No snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 once."
    assert current == path.read_text()
