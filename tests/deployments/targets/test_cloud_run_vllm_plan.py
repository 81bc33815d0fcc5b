"""The cloud-run-vllm plan pinned: seed 001's build passes the token only through Secret
Manager, seed 002's service mounts the weights bucket."""

import base64
import json

import pytest
from google.cloud import run_v2
from google.cloud.devtools import cloudbuild_v1

from deployments.targets.cloud_run_vllm import plan as cloud_run_vllm
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
from deployments.targets.plan import DeploymentRef, PlanContext

REF = DeploymentRef(id=7, slug="gemma-vllm", team_slug="ml-research", attempt=2)
CTX = PlanContext(
    project="hangar-sandbox",
    portal_service_account="hangar-portal@hangar-sandbox.iam.gserviceaccount.com",
    registry_repository="hangar",
    vllm_image="vllm/vllm-openai:v0.21.0",
)
SECRET = "projects/hangar-sandbox/secrets/hangar-hf-ml-research"


def plan(**values):
    return cloud_run_vllm.deploy_plan(REF, CloudRunVllmSpec(**values), CTX)


def dockerfile_of(build):
    [write] = [s for s in build["steps"] if s["id"] == "write-dockerfile"]
    encoded = write["env"][0].split("=", 1)[1]
    return base64.b64decode(encoded).decode()


def test_seed_001_build_reads_the_token_from_secret_manager_as_a_buildkit_secret():
    build = plan(model="gemma-3-1b-it").step("build_image").request.body
    cloudbuild_v1.Build.from_json(json.dumps(build))  # every field is a real Build field
    assert build["availableSecrets"] == {
        "secretManager": [{"versionName": f"{SECRET}/versions/latest", "env": "HF_TOKEN"}]
    }
    [docker] = [s for s in build["steps"] if s["id"] == "build"]
    assert docker["secretEnv"] == ["HF_TOKEN"]
    assert docker["args"] == [
        "build",
        "--secret",
        "id=hf_token,env=HF_TOKEN",
        "-t",
        "europe-west1-docker.pkg.dev/hangar-sandbox/hangar/gemma-vllm:a2",
        ".",
    ]
    assert "DOCKER_BUILDKIT=1" in docker["env"]
    assert "--build-arg" not in json.dumps(build)  # seed 001's leak: the token in the history
    dockerfile = dockerfile_of(build)
    assert "RUN --mount=type=secret,id=hf_token" in dockerfile
    assert 'HF_TOKEN="$(cat /run/secrets/hf_token)" hf download google/gemma-3-1b-it' in dockerfile
    assert "ARG HF_TOKEN" not in dockerfile
    assert "ENV HF_HUB_OFFLINE=1" in dockerfile


def test_seed_002_service_mounts_the_weights_bucket_read_only():
    p = plan(model="gemma-3-1b-it", weights_source="bucket", max_model_len=8192)
    body = p.step("deploy_service").request.body
    service = run_v2.Service.from_json(json.dumps(body))
    bucket = cloud_run_vllm.bodies.bucket_name(REF, CTX)
    [volume] = service.template.volumes
    assert (volume.name, volume.gcs.bucket, volume.gcs.read_only) == ("weights", bucket, True)
    assert list(volume.gcs.mount_options) == ["implicit-dirs"]
    [container] = service.template.containers
    assert [(m.name, m.mount_path) for m in container.volume_mounts] == [("weights", "/models")]
    assert container.image == "vllm/vllm-openai:v0.21.0"  # no image build in bucket mode
    assert "--model=/models/google/gemma-3-1b-it" in container.args
    assert "--served-model-name=google/gemma-3-1b-it" in container.args
    assert "--max-model-len=8192" in container.args
    assert service.template.service_account == cloud_run_vllm.bodies.service_account_email(REF, CTX)
    [token] = [e for e in container.env if e.name == "HF_TOKEN"]
    assert token.value_source.secret_key_ref.secret == "hangar-hf-ml-research"
    assert not token.value
    keys = [s.key for s in p.steps]
    assert keys == [
        "ensure_service_account",
        "grant_act_as",
        "grant_secret_access",
        "grant_builder_secret_access",
        "ensure_bucket",
        "grant_bucket_reader",
        "grant_builder_bucket_writer",
        "download_weights",
        "deploy_service",
        "grant_invoker",
        "wait_ready",
        "check_health",
        "smoke_test",
    ]
    download = p.step("download_weights").request.body
    cloudbuild_v1.Build.from_json(json.dumps(download))
    # The build runs as the build account, which the plan lets write this bucket only.
    builder = f"serviceAccount:{CTX.builder}"
    assert download["serviceAccount"].endswith(f"/serviceAccounts/{CTX.builder}")
    assert p.step("grant_builder_bucket_writer").params == {
        "bucket": bucket,
        "member": builder,
        "role": "roles/storage.objectUser",
    }
    assert p.step("grant_builder_secret_access").params["member"] == builder
    act_as = p.step("grant_act_as").params
    assert (act_as["role"], act_as["member"]) == (
        "roles/iam.serviceAccountUser",
        f"serviceAccount:{CTX.portal_service_account}",
    )
    assert download["steps"][0]["secretEnv"] == ["HF_TOKEN"]
    assert download["steps"][1]["args"][-1] == f"gs://{bucket}/google/gemma-3-1b-it"


def test_seed_002_settings_reach_the_service():
    body = plan(model="gemma-4-e2b-it", gpu_memory_utilization="0.85").step("deploy_service")
    template = body.request.body["template"]
    container = template["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert "cpuIdle" not in container["resources"]  # --no-cpu-throttling
    assert template["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert "--gpu-memory-utilization=0.85" in container["args"]
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": 8080}


def test_an_ungated_model_touches_no_secret():
    p = plan(model="gemma-4-e2b-it")
    assert "grant_secret_access" not in [s.key for s in p.steps]
    assert "availableSecrets" not in p.step("build_image").request.body
    assert "HF_TOKEN" not in json.dumps(p.step("deploy_service").request.body)
    teardown = cloud_run_vllm.teardown_plan(REF, CloudRunVllmSpec(model="gemma-4-e2b-it"), CTX)
    assert "revoke_secret_access" not in [s.key for s in teardown.steps]


@pytest.mark.parametrize(
    ("source", "removes"), [("baked", "delete_image"), ("bucket", "delete_bucket")]
)
def test_tear_down_removes_what_the_deployment_made(source, removes):
    spec = CloudRunVllmSpec(model="gemma-3-1b-it", weights_source=source)
    keys = [s.key for s in cloud_run_vllm.teardown_plan(REF, spec, CTX).steps]
    assert keys == [
        "cancel_build",
        "delete_service",
        removes,
        "revoke_secret_access",
        "delete_service_account",
    ]


def test_service_account_and_bucket_names_fit_google_limits():
    long = DeploymentRef(id=1, slug="a" * 39 + "b", team_slug="t", attempt=1)
    account = cloud_run_vllm.bodies.service_account_id(long)
    assert 6 <= len(account) <= 30
    assert len(cloud_run_vllm.bodies.bucket_name(long, CTX)) <= 63


def test_defaults_that_depart_from_the_seed_say_why_and_stay_within_googles_limits():
    from deployments.targets.cloud_run.fields import MAX_CONCURRENCY, MAX_TIMEOUT_SECONDS
    from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
    from deployments.targets.fields import declared

    concurrency = declared(CloudRunVllmSpec, "concurrency")
    timeout = declared(CloudRunVllmSpec, "timeout_seconds")
    assert "gcloud's 80" in concurrency.help and "gcloud's 300" in timeout.help
    spec = CloudRunVllmSpec(model="gemma-3-1b-it")
    assert 1 <= spec.concurrency <= MAX_CONCURRENCY
    assert 1 <= spec.timeout_seconds <= MAX_TIMEOUT_SECONDS
    probe = (
        plan(model="gemma-3-1b-it")
        .step("deploy_service")
        .request.body["template"]["containers"][0]["startupProbe"]
    )
    window = probe["periodSeconds"] * probe["failureThreshold"]
    assert window == 1200
    assert window <= cloud_run_vllm.bodies.GPU_STARTUP_WINDOW_MAX_SECONDS
    assert 1 <= probe["periodSeconds"] <= 240 and probe["timeoutSeconds"] <= probe["periodSeconds"]
