"""What a Cloud Run revision will run, decided when it is deployed: which image, which
model server (Ollama or vLLM, by the image), which model, and whether the revision's
service account can read the secrets and buckets it uses. Cloud Run fails a revision
whose runtime account cannot read a referenced secret or a mounted bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from sandbox.artifact_registry.api import Registry
from sandbox.cloud_build import hf
from sandbox.core import errors
from sandbox.iam import act_as
from sandbox.iam.service_accounts import AccountStore
from sandbox.secret_manager.api import SecretStore
from sandbox.storage.api import StorageStore

if TYPE_CHECKING:
    from sandbox.core.state import State

# Images Cloud Run can pull from Docker Hub without Artifact Registry.
PUBLIC_IMAGE = re.compile(
    r"(?:docker\.io/)?(?P<repo>vllm/vllm-openai|ollama/ollama)(?::(?P<tag>[\w.-]+))?"
)
VLLM_REPO = "vllm/vllm-openai"


@dataclass(frozen=True)
class Runtime:
    image: str = ""
    server: str = "ollama"
    model: str | None = None
    max_model_len: int | None = None
    error: str | None = None


def runtime_account(state: State, template: Message) -> str:
    return template.service_account or (
        f"{state.config.project_number}-compute@developer.gserviceaccount.com"
    )


def check_service_account(state: State, template: Message) -> None:
    """Deploying as an account needs it to exist and actAs on it, checked at once; a
    service without one runs as the default compute account, which needs actAs too."""
    email = template.service_account
    if not email:
        act_as.check_act_as(state, runtime_account(state, template))
        return
    act_as.check_act_as(state, email)
    if not state.store(AccountStore).exists(email):
        raise errors.permission_denied(
            "iam.serviceaccounts.actAs",
            f"projects/-/serviceAccounts/{email}",
            "iam.googleapis.com",
        )
    # A new account is not usable at once, for a deploy as for a grant (iam/act_as.py).
    act_as.check_account_usable(state, email)


def inspect(state: State, template: Message) -> Runtime:
    """The runtime of the ingress container, or the first reason it cannot start."""
    account = runtime_account(state, template)
    problem = _volume_problem(state, template, account)
    chosen = Runtime()
    containers = template.containers
    for i, container in enumerate(containers):
        problem = problem or _secret_problem(state, container, i, account)
        if not (container.ports or len(containers) == 1):
            continue
        public = PUBLIC_IMAGE.fullmatch(container.image)
        hf_models: tuple[str, ...]
        if public:
            base, hf_models, model = public["repo"], (), None
        else:
            found = state.store(Registry).resolve(container.image, state.config.project)
            if found is None:
                return Runtime(error=f"Image '{container.image}' not found.")
            version = found[1]
            base, hf_models, model = version.base_image, version.hf_models, version.model
        if base.split(":")[0].removeprefix("docker.io/") == VLLM_REPO:
            chosen = _vllm(state, template, container, hf_models)
        else:
            chosen = Runtime(image=container.image, model=model)
    if problem:
        return Runtime(image=chosen.image, server=chosen.server, error=problem)
    return chosen


def _secret_problem(state: State, container: Message, index: int, account: str) -> str | None:
    for env in container.env:
        ref = env.value_source.secret_key_ref
        if not ref.secret:
            continue
        secret = ref.secret
        if not secret.startswith("projects/"):
            secret = f"projects/{state.config.project}/secrets/{secret}"
        version = f"{secret}/versions/{ref.version or 'latest'}"
        if state.store(SecretStore).access_error(version, account):
            return (
                f"spec.template.spec.containers[{index}].env.value_from.secret_key_ref.name: "
                f"Permission denied on secret: {version} for Revision service account "
                f"{account}. The service account used must be granted the 'Secret Manager "
                "Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, "
                "project or higher level."
            )
    return None


def _volume_problem(state: State, template: Message, account: str) -> str | None:
    for volume in template.volumes:
        if not volume.HasField("gcs"):
            continue
        bucket = volume.gcs.bucket
        if bucket not in state.store(StorageStore).buckets:
            return f"Cloud Storage volume '{volume.name}': bucket '{bucket}' does not exist."
        if not state.store(StorageStore).can_read(bucket, account):
            return (
                f"Cloud Storage volume '{volume.name}': the revision's service account "
                f"{account} cannot read bucket '{bucket}' (storage.objects.get denied). Grant "
                "it roles/storage.objectViewer on the bucket."
            )
    return None


def _flag(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


def _vllm(state: State, template: Message, container: Message, cached: Any) -> Runtime:
    args = [*container.command, *container.args]
    model = _flag(args, "--model")
    if model is None:
        return Runtime(image=container.image, server="vllm", error="vLLM needs --model.")
    served = _flag(args, "--served-model-name") or model
    length = _flag(args, "--max-model-len")
    runtime = Runtime(
        image=container.image,
        server="vllm",
        model=served,
        max_model_len=int(length) if length and length.isdigit() else None,
    )
    error = _weights_problem(state, template, container, model, tuple(cached))
    return Runtime(**{**runtime.__dict__, "error": error}) if error else runtime


def _weights_problem(
    state: State, template: Message, container: Message, model: str, cached: tuple[str, ...]
) -> str | None:
    """vLLM exits at start when it cannot find the weights; the revision then fails."""
    if model.startswith("/"):
        for mount in container.volume_mounts:
            root = mount.mount_path.rstrip("/") + "/"
            if not model.startswith(root):
                continue
            volume = next((v for v in template.volumes if v.name == mount.name), None)
            if volume is None or not volume.HasField("gcs"):
                break
            prefix = model[len(root) :].strip("/")
            bucket = state.store(StorageStore).buckets.get(volume.gcs.bucket)
            if bucket is not None and f"{prefix}/config.json" in bucket.objects:
                return None
            return (
                f"The container exited: vLLM found no config.json in {model} "
                f"(gs://{volume.gcs.bucket}/{prefix}); download the weights there first."
            )
        return f"The container exited: vLLM found no model at {model}."
    if model in cached:
        return None
    env = {e.name: e.value for e in container.env}
    if env.get("HF_HUB_OFFLINE") == "1":
        return (
            f"The container exited: {model} is not in the image's Hugging Face cache and "
            "HF_HUB_OFFLINE=1 forbids downloading it."
        )
    return hf.download_error(model, env.get("HF_TOKEN", ""))
