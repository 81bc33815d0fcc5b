"""The real gcloud against the sandbox with the seeds' IAM and Cloud Build commands:
seed 003's Workload Identity binding (gcloud names the account `projects/-/...`, which
IAM takes), and seed 001's build, whose availableSecrets name `projects/${PROJECT_ID}/...`."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.gcloud import PROJECT, Gcloud, gcloud_for, needs_gcloud

pytestmark = needs_gcloud

REGION = "europe-west1"
HF_TOKEN = "hf_sandboxTestToken0123456789abcdef"
# Seed 001's Dockerfile and cloudbuild.yaml, verbatim.
DOCKERFILE = """\
FROM vllm/vllm-openai:v0.9.0

ARG MODEL_NAME
ARG HF_TOKEN

ENV HF_HOME=/model-cache
ENV MODEL_NAME=${MODEL_NAME}

# Use the HF_TOKEN argument to log in and download the model
RUN huggingface-cli login --token ${HF_TOKEN} && \\
    huggingface-cli download ${MODEL_NAME}

ENV HF_HUB_OFFLINE=1

EXPOSE 8080

ENTRYPOINT python3 -m vllm.entrypoints.openai.api_server \\
    --port ${PORT:-8080} \\
    --model ${MODEL_NAME} \\
    --gpu-memory-utilization 0.90 \\
    ${MAX_MODEL_LEN:+--max-model-len "$MAX_MODEL_LEN"}
"""
CLOUDBUILD = """\
steps:
- name: 'gcr.io/cloud-builders/docker'
  entrypoint: 'bash'
  args:
  - '-c'
  - |
    docker build \\
      --build-arg MODEL_NAME=${_MODEL_NAME} \\
      --build-arg HF_TOKEN=$$HF_TOKEN_SECRET \\
      -t ${_IMAGE_NAME} .
  secretEnv: ['HF_TOKEN_SECRET']

images:
- '${_IMAGE_NAME}'

availableSecrets:
  secretManager:
  - versionName: projects/${PROJECT_ID}/secrets/HF_TOKEN/versions/latest
    env: 'HF_TOKEN_SECRET'
"""


@pytest.fixture
def gcloud(sandbox, sandbox_process, tmp_path) -> Gcloud:
    return gcloud_for(sandbox_process.url, tmp_path)


def test_workload_identity_binding_on_projects_dash_as_seed_003(gcloud: Gcloud):
    gcloud.run("iam", "service-accounts", "create", "gemma-gsa", f"--project={PROJECT}")
    email = f"gemma-gsa@{PROJECT}.iam.gserviceaccount.com"
    member = f"serviceAccount:{PROJECT}.svc.id.goog[default/gemma-ksa]"
    # add-iam-policy-binding reads and writes the policy of projects/-/serviceAccounts/EMAIL.
    gcloud.run(
        "iam", "service-accounts", "add-iam-policy-binding", email,
        "--role", "roles/iam.workloadIdentityUser", f"--member={member}", f"--project={PROJECT}",
    )  # fmt: skip
    policy = gcloud.json("iam", "service-accounts", "get-iam-policy", email)
    assert policy["bindings"] == [{"members": [member], "role": "roles/iam.workloadIdentityUser"}]


def test_build_with_available_secrets_as_seed_001(gcloud: Gcloud, sandbox_process, tmp_path):
    gcloud.run("secrets", "create", "HF_TOKEN", "--data-file=-", stdin=HF_TOKEN)
    # The build runs as the default compute account: it must be able to read the secret.
    compute = "serviceAccount:123456789012-compute@developer.gserviceaccount.com"
    gcloud.run(
        "secrets", "add-iam-policy-binding", "HF_TOKEN",
        f"--member={compute}", "--role=roles/secretmanager.secretAccessor",
    )  # fmt: skip
    gcloud.run(
        "artifacts", "repositories", "create", "llm",
        "--repository-format", "docker", "--location", REGION,
    )  # fmt: skip
    source = tmp_path / "src"
    source.mkdir()
    (source / "Dockerfile").write_text(DOCKERFILE)
    (source / "cloudbuild.yaml").write_text(CLOUDBUILD)
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/llm/vllm-gemma:v1"
    # --async: gcloud tails a build's log from https://storage.googleapis.com/ itself, a
    # URL no endpoint override reaches (googlecloudsdk/api_lib/cloudbuild/logs.py).
    submitted = gcloud.json(
        "builds", "submit", ".", "--config=cloudbuild.yaml", f"--region={REGION}",
        f"--substitutions=_MODEL_NAME=google/gemma-3-1b-it,_IMAGE_NAME={image}", "--async",
        cwd=source,
    )  # fmt: skip
    build = _finished(sandbox_process.url, gcloud, submitted["id"])
    assert build["status"] == "SUCCESS", build.get("statusDetail")
    assert build["results"]["images"][0]["name"] == image
    (secret,) = build["availableSecrets"]["secretManager"]
    assert secret["versionName"] == f"projects/{PROJECT}/secrets/HF_TOKEN/versions/latest"


def _finished(url: str, gcloud: Gcloud, build_id: str) -> dict:
    token = (gcloud.home / "token").read_text()
    deadline = time.monotonic() + 120  # generous: a loaded machine is slow, not wrong
    while time.monotonic() < deadline:
        try:
            build = requests.get(
                f"{url}/v1/projects/{PROJECT}/locations/{REGION}/builds/{build_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
        except requests.RequestException:  # ReadTimeout too: ask again until the deadline
            time.sleep(0.2)
            continue
        if build["status"] not in ("QUEUED", "PENDING", "WORKING"):
            return dict(build)
        time.sleep(0.2)
    raise AssertionError(f"build {build_id} did not finish")


def test_a_call_to_an_api_not_pointed_at_the_sandbox_goes_nowhere(gcloud: Gcloud):
    # Compute Engine is no API the harness overrides: gcloud goes to
    # compute.googleapis.com, through the proxy that refuses.
    stderr = gcloud.refused("compute", "zones", "list")
    assert "ProxyError" in stderr
    assert "compute.googleapis.com" in stderr
