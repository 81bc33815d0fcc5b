"""The Cloud Run + Ollama plan: seed 000's flags, the inline build, the teardown."""

import base64
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from deployments.choices import Phase
from deployments.plans import plan_for
from deployments.targets.cloud_run_ollama import plan as cloud_run_ollama
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from deployments.targets.plan import DeploymentRef, PlanContext
from tests.factories import DeploymentFactory, TeamFactory

SNAPSHOTS = Path(__file__).parent / "snapshots"
CTX = PlanContext(
    project="proj-1",
    portal_service_account="portal@proj-1.iam.gserviceaccount.com",
    registry_repository="hangar",
)
REF = DeploymentRef(id=7, slug="ollama-gemma", team_slug="ml", attempt=1)
SEED_000 = CloudRunOllamaSpec(model="gemma3-4b", region="europe-west1")


def deploy_plan(spec=SEED_000):
    return cloud_run_ollama.deploy_plan(REF, spec, CTX)


def test_steps_in_order():
    assert [s.key for s in deploy_plan().steps] == [
        "ensure_repository",
        "build_image",
        "deploy_service",
        "grant_invoker",
        "wait_ready",
        "smoke_test",
    ]


def test_service_request_pins_every_flag_of_seed_000():
    """gcloud run deploy ollama-gemma --concurrency 4 --cpu 8 --set-env-vars
    OLLAMA_NUM_PARALLEL=4 --gpu 1 --gpu-type nvidia-l4 --max-instances 1 --memory 32Gi
    --no-allow-unauthenticated --no-cpu-throttling --no-gpu-zonal-redundancy --timeout=600"""
    step = deploy_plan().step("deploy_service")
    assert step.request.method == "PATCH"
    assert step.request.path == (
        "/v2/projects/proj-1/locations/europe-west1/services/ollama-gemma?allowMissing=true"
    )
    body = step.request.body
    template = body["template"]
    [container] = template["containers"]
    assert template["maxInstanceRequestConcurrency"] == 4  # --concurrency 4
    assert container["resources"]["limits"]["cpu"] == "8"  # --cpu 8
    assert container["env"] == [{"name": "OLLAMA_NUM_PARALLEL", "value": "4"}]  # --set-env-vars
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"  # --gpu 1
    assert template["nodeSelector"] == {"accelerator": "nvidia-l4"}  # --gpu-type
    assert template["scaling"]["maxInstanceCount"] == 1  # --max-instances 1
    assert container["resources"]["limits"]["memory"] == "32Gi"  # --memory 32Gi
    # --no-cpu-throttling: resources are set and cpuIdle is not true (false is the wire default)
    assert container["resources"].get("cpuIdle", False) is False
    assert template["gpuZonalRedundancyDisabled"] is True  # --no-gpu-zonal-redundancy
    assert template["timeout"] == "600s"  # --timeout=600
    # --no-allow-unauthenticated: nothing public anywhere in the plan
    assert "allUsers" not in json.dumps(deploy_plan().as_dict())
    assert body.get("invokerIamDisabled") is not True
    assert container["ports"] == [{"containerPort": 8080}]
    assert body["labels"]["managed-by"] == "hangar"


def test_gcloud_line_carries_the_same_flags():
    line = deploy_plan().step("deploy_service").cli
    for flag in (
        "--concurrency=4",
        "--cpu=8",
        "--set-env-vars=OLLAMA_NUM_PARALLEL=4",
        "--gpu=1",
        "--gpu-type=nvidia-l4",
        "--max-instances=1",
        "--memory=32Gi",
        "--no-allow-unauthenticated",
        "--no-cpu-throttling",
        "--no-gpu-zonal-redundancy",
        "--timeout=600",
    ):
        assert flag in line


def test_build_writes_the_seed_dockerfile_inline_and_pushes_to_the_registry():
    step = deploy_plan().step("build_image")
    body = step.request.body
    assert "source" not in body  # no source upload
    write, build = body["steps"]
    assert write["args"] == ["-c", 'echo "$$DOCKERFILE_B64" | base64 -d > Dockerfile']
    [env] = write["env"]
    dockerfile = base64.b64decode(env.removeprefix("DOCKERFILE_B64=")).decode()
    assert dockerfile.splitlines() == [
        "FROM ollama/ollama:latest",
        "ENV OLLAMA_HOST=0.0.0.0:8080",
        "ENV OLLAMA_MODELS=/models",
        "ENV OLLAMA_DEBUG=false",
        "ENV OLLAMA_KEEP_ALIVE=-1",
        "ENV MODEL=gemma3:4b",
        "RUN ollama serve & sleep 5 && ollama pull $MODEL",
        'ENTRYPOINT ["ollama", "serve"]',
    ]
    image = "europe-west1-docker.pkg.dev/proj-1/hangar/ollama-gemma:a1"
    assert build["args"] == ["build", "-t", image, "."]
    assert body["images"] == [image]
    assert "hangar-d7-a1" in body["tags"]
    service_image = deploy_plan().step("deploy_service").request.body["template"]["containers"][0]
    assert service_image["image"] == image


def test_only_the_portal_is_granted_invoker():
    step = deploy_plan().step("grant_invoker")
    assert step.request.body == {
        "policy": {
            "bindings": [
                {
                    "role": "roles/run.invoker",
                    "members": ["serviceAccount:portal@proj-1.iam.gserviceaccount.com"],
                }
            ]
        }
    }


def test_smoke_test_is_a_real_chat_with_the_baked_model():
    step = deploy_plan().step("smoke_test")
    assert (step.request.method, step.request.path) == ("POST", "/api/chat")
    assert step.request.body["model"] == "gemma3:4b"
    assert step.request.body["stream"] is False


def test_teardown_removes_build_service_and_image():
    plan = cloud_run_ollama.teardown_plan(REF, SEED_000, CTX)
    assert [(s.key, s.request.method) for s in plan.steps] == [
        ("cancel_build", "POST"),
        ("delete_service", "DELETE"),
        ("delete_image", "DELETE"),
    ]
    assert plan.step("delete_image").request.path == (
        "/v1/projects/proj-1/locations/europe-west1/repositories/hangar/packages/ollama-gemma"
    )


def test_plan_is_pure():
    assert deploy_plan().as_dict() == deploy_plan().as_dict()


@pytest.mark.django_db
def test_plan_command_prints_json():
    deployment = DeploymentFactory(slug="cmd-demo", team=TeamFactory(slug="ml"))
    out = StringIO()
    call_command("plan", str(deployment.pk), "--format", "json", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed == plan_for(deployment, Phase.DEPLOY).as_dict()
    assert printed["steps"][2]["request"]["path"].endswith("/services/cmd-demo?allowMissing=true")
