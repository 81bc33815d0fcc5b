"""What Google refuses, the sandbox refuses: GPU rules, build rules, pushes."""

import pytest
from google.api_core import exceptions
from google.cloud import run_v2
from google.cloud.devtools import cloudbuild_v1

from tests.sandbox import helpers
from tests.sandbox.helpers import PARENT, PROJECT


def _create(run_client, service, parent=PARENT):
    with pytest.raises(exceptions.BadRequest) as info:
        run_client.create_service(parent=parent, service_id="gpu", service=service)
    return info.value.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"accelerator": "nvidia-h100"}, "Accelerator type 'nvidia-h100' is not supported"),
        ({"memory": "8Gi"}, "requires at least 16Gi of memory"),
        ({"cpu": "2"}, "requires at least 4 CPU"),
        ({"gpu": "2"}, "The only supported 'nvidia.com/gpu' value is '1'."),
        ({"cpu_idle": True}, "GPU requires CPU to be always allocated"),
        ({"memory": "lots"}, "Invalid value 'lots'"),
        ({"cpu": "8 cores"}, "Invalid value '8 cores'"),
        ({"concurrency": 1001}, "between 0 and 1000"),
        ({"timeout": 3601}, "Timeout must be between 1 and 3600 seconds."),
    ],
)
def test_gpu_rules(sandbox, run_client, change, expected):
    service = helpers.gpu_service(helpers.image_uri())
    container = service.template.containers[0]
    if "accelerator" in change:
        service.template.node_selector.accelerator = change["accelerator"]
    for key in ("memory", "cpu"):
        if key in change:
            container.resources.limits[key] = change[key]
    if "gpu" in change:
        container.resources.limits["nvidia.com/gpu"] = change["gpu"]
    if "cpu_idle" in change:
        container.resources.cpu_idle = True
    if "concurrency" in change:
        service.template.max_instance_request_concurrency = change["concurrency"]
    if "timeout" in change:
        service.template.timeout = {"seconds": change["timeout"]}
    assert expected in _create(run_client, service)
    assert sandbox.state()["services"] == []


def test_gpu_needs_a_gpu_region(sandbox, run_client):
    service = helpers.gpu_service(helpers.image_uri())
    message = _create(run_client, service, parent=f"projects/{PROJECT}/locations/us-west1")
    assert "not available in region 'us-west1'" in message
    service.template.node_selector.accelerator = "nvidia-rtx-pro-6000"
    limits = service.template.containers[0].resources.limits
    limits.update({"cpu": "20", "memory": "81920Mi"})
    op = run_client.create_service(
        parent=f"projects/{PROJECT}/locations/europe-west4", service_id="rtx", service=service
    )
    assert op.metadata.reconciling


def test_reserved_env_is_rejected(sandbox, run_client):
    service = helpers.gpu_service(helpers.image_uri())
    service.template.containers[0].env.append(run_v2.EnvVar(name="PORT", value="9000"))
    assert "reserved env names" in _create(run_client, service)


def _build(build_client, build):
    return build_client.create_build(parent=PARENT, build=build)


def test_undeclared_secret_env_is_rejected(sandbox, build_client):
    build = helpers.image_build(helpers.image_uri())
    build.steps[1].secret_env = ["HF_TOKEN"]
    with pytest.raises(exceptions.BadRequest) as info:
        _build(build_client, build)
    assert 'secretEnv "HF_TOKEN" is not defined in availableSecrets' in info.value.message
    build.available_secrets = cloudbuild_v1.Secrets(
        secret_manager=[
            cloudbuild_v1.SecretManagerSecret(
                version_name=f"projects/{PROJECT}/secrets/hf/versions/1", env="HF_TOKEN"
            )
        ]
    )
    assert _build(build_client, build).metadata.build.id


def test_build_rules(sandbox, build_client):
    image = helpers.image_uri()
    cases = [
        (cloudbuild_v1.Build(), "at least one step"),
        (cloudbuild_v1.Build(steps=[cloudbuild_v1.BuildStep(args=["x"])]), "must specify name"),
        (helpers.image_build(image, tags=("bad tag!",)), "invalid build tag"),
        (helpers.image_build(image, substitutions={"FOO": "x"}), 'substitution key "FOO"'),
        (
            helpers.image_build(image, substitutions={"_UNUSED": "x"}),
            "is not matched in the template",
        ),
        (
            cloudbuild_v1.Build(
                steps=[cloudbuild_v1.BuildStep(name="ubuntu", script="echo hi", args=["x"])]
            ),
            "script cannot be used with args",
        ),
    ]
    unescaped = helpers.image_build(image)
    unescaped.steps[0].args[1] = 'echo "$DOCKERFILE_B64" | base64 -d > Dockerfile'
    cases.append((unescaped, 'key in the template "DOCKERFILE_B64" is not a valid built-in'))
    for build, expected in cases:
        with pytest.raises(exceptions.BadRequest) as info:
            _build(build_client, build)
        assert expected in info.value.message
    assert sandbox.state()["builds"] == []


def test_push_to_missing_repository_fails_the_build(sandbox, build_client):
    op = _build(build_client, helpers.image_build(helpers.image_uri(repo="absent")))
    with pytest.raises(exceptions.GoogleAPICallError):
        helpers.wait(op)
    build = build_client.get_build(name=f"{PARENT}/builds/{op.metadata.build.id}")
    assert build.status == cloudbuild_v1.Build.Status.FAILURE
    assert 'name unknown: Repository "absent" not found' in build.status_detail
    assert build.failure_info.detail


def test_unsupported_step_and_missing_dockerfile_fail(sandbox, registry_client, build_client):
    helpers.create_repository(registry_client)
    image = helpers.image_uri()
    build = helpers.image_build(image)
    del build.steps[0]
    op = _build(build_client, build)
    with pytest.raises(exceptions.GoogleAPICallError):
        helpers.wait(op)
    failed = build_client.get_build(name=f"{PARENT}/builds/{op.metadata.build.id}")
    assert "build step 0" in failed.status_detail
    assert "no such file or directory" in failed.status_detail
    odd = helpers.image_build(image)
    odd.steps[0].args[1] = "curl http://example.com > Dockerfile"
    op = _build(build_client, odd)
    with pytest.raises(exceptions.GoogleAPICallError):
        helpers.wait(op)
    failed = build_client.get_build(name=f"{PARENT}/builds/{op.metadata.build.id}")
    assert "cannot emulate this step" in failed.status_detail


def test_env_equals_form_and_braces(sandbox, registry_client, build_client, run_client):
    helpers.create_repository(registry_client)
    image = helpers.image_uri(name="llama", tag="latest")
    dockerfile = 'FROM ollama/ollama\nENV MODEL="llama3.1:8b" OTHER=1\nRUN ollama serve & sleep 5 && ollama pull ${MODEL}\n'
    build = helpers.image_build(image, dockerfile=dockerfile)
    helpers.wait(_build(build_client, build))
    state = sandbox.state()
    versions = state["repositories"][0]["packages"][0]["versions"]
    assert [v["model"] for v in versions.values()] == ["llama3.1:8b"]
