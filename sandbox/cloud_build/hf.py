"""Build steps that bring Hugging Face weights: `hf download` (in a step or a Dockerfile
RUN) and `gcloud storage rsync|cp` of the downloaded files into a bucket.

Gated repositories need a token, as on huggingface.co: a download without one fails
with Hugging Face's 401, so a build that forgets to pass its secret fails here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# Repositories whose licence must be accepted; downloads need a token (huggingface.co).
GATED = re.compile(r"(google/gemma-3[^/]*|google/gemma-2[^/]*|meta-llama/[^/]+)")
TOKEN = re.compile(r"hf_[A-Za-z0-9]{20,200}")
HF_COMMANDS = ("hf", "huggingface-cli")
# Images that carry the `hf` command line.
HF_IMAGES = re.compile(r"(docker\.io/)?(vllm/vllm-openai|huggingface/[\w-]+|python)(:[\w.-]+)?")
GCLOUD_IMAGES = re.compile(
    r"gcr\.io/google\.com/cloudsdktool/(google-)?cloud-sdk(:[\w.-]+)?|gcr\.io/cloud-builders/gcloud"
)
VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")
SECRET_MOUNT = re.compile(r"--mount=type=secret,id=([\w.-]+)(?:,[\w=/.-]+)*")


class HfFailure(Exception):
    """A step failed; the message is what the tool prints."""


def download_error(repo: str, token: str) -> str | None:
    """What huggingface_hub says when this token cannot download `repo`, or None."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        return (
            f"huggingface_hub.errors.HFValidationError: Repo id must be 'namespace/name': '{repo}'"
        )
    if not GATED.fullmatch(repo):
        return None
    url = f"https://huggingface.co/{repo}/resolve/main/config.json"
    if not token:
        return (
            f"401 Client Error. Cannot access gated repo for url {url}. Access to model {repo} "
            "is restricted. You must have access to it and be authenticated to access it. "
            "Please log in."
        )
    if not TOKEN.fullmatch(token.strip()):
        return f"401 Client Error: Unauthorized for url: {url} (invalid credentials)"
    return None


def weights_files(repo: str) -> dict[str, bytes]:
    """What a download leaves on disk: enough for the sandbox's vLLM to know the model."""
    config = {"_name_or_path": repo, "architectures": ["SandboxForCausalLM"]}
    return {
        "config.json": json.dumps(config).encode(),
        "tokenizer.json": b"{}",
        "model.safetensors": f"sandbox weights of {repo}".encode(),
    }


def download_step(
    args: list[str], env: dict[str, str], write: Callable[[str, bytes], None]
) -> None:
    """`hf download REPO [--local-dir DIR] [--revision R] [--token T]` in a build step."""
    if not args or args[0] != "download" or len(args) < 2:
        raise HfFailure(
            f"the sandbox emulates only 'hf download REPO --local-dir DIR'; got {args!r}"
        )
    repo, rest = args[1], args[2:]
    options: dict[str, str] = {}
    while rest:
        flag = rest.pop(0)
        if flag not in ("--local-dir", "--revision", "--token") or not rest:
            raise HfFailure(f"hf download: unsupported or incomplete option {flag!r}")
        options[flag] = rest.pop(0)
    if "--local-dir" not in options:
        raise HfFailure("the sandbox needs --local-dir to know where the weights went")
    token = options.get("--token") or env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN", "")
    problem = download_error(repo, token)
    if problem:
        raise HfFailure(problem)
    for name, data in weights_files(repo).items():
        write(f"{options['--local-dir'].rstrip('/')}/{name}", data)


def gcloud_storage_step(
    args: list[str],
    files: dict[str, bytes],
    local: Callable[[str], str],
    bucket_exists: Callable[[str], bool],
    put: Callable[[str, str, bytes], None],
) -> None:
    """`gcloud storage rsync --recursive SRC gs://B/P` or `gcloud storage cp -r SRC gs://B/P`."""
    if (
        len(args) != 5
        or args[0] != "storage"
        or (args[1], args[2])
        not in (
            ("rsync", "--recursive"),
            ("rsync", "-r"),
            ("cp", "-r"),
            ("cp", "--recursive"),
        )
    ):
        raise HfFailure(
            "the sandbox emulates only 'gcloud storage rsync --recursive SRC gs://BUCKET/PREFIX'; "
            f"got {args!r}"
        )
    source, dest = local(args[3]), args[4]
    m = re.fullmatch(r"gs://([a-z0-9][a-z0-9_.-]+[a-z0-9])(?:/(.*))?", dest)
    if not m:
        raise HfFailure(f"ERROR: (gcloud.storage.{args[1]}) Invalid destination: {dest}")
    bucket, prefix = m.group(1), (m.group(2) or "").strip("/")
    if not bucket_exists(bucket):
        raise HfFailure(f"ERROR: (gcloud.storage.{args[1]}) gs://{bucket} not found: 404.")
    chosen = {p: d for p, d in files.items() if p.startswith(source.rstrip("/") + "/")}
    if not chosen:
        raise HfFailure(f"ERROR: (gcloud.storage.{args[1]}) No URLs matched: {args[3]}")
    for path, data in chosen.items():
        relative = path[len(source.rstrip("/")) + 1 :]
        put(bucket, f"{prefix}/{relative}" if prefix else relative, data)


def dockerfile_downloads(
    run_lines: list[str], secrets: dict[str, str], env: dict[str, str], buildkit: bool
) -> list[str]:
    """The repos the RUN lines download, checking each had what it needs to do so."""
    repos: list[str] = []
    for written in run_lines:
        # The RUN's shell expands the build's ARG and ENV values.
        line = VAR.sub(lambda v: env.get(v.group(1) or v.group(2), v.group(0)), written)
        mounts = SECRET_MOUNT.findall(line)
        if "--mount=" in line and not buildkit:
            raise HfFailure(
                "the --mount option requires BuildKit. Refer to "
                "https://docs.docker.com/go/buildkit/ to learn how to build images with "
                "BuildKit enabled"
            )
        for match in re.finditer(r"(?:hf|huggingface-cli)\s+download\s+(\S+)", line):
            repo = match.group(1).strip("\"'")
            token = env.get("HF_TOKEN", "")
            for secret_id in mounts:
                # The secret is a file under /run/secrets; the RUN must read it.
                if f"/run/secrets/{secret_id}" in line and secrets.get(secret_id):
                    token = secrets[secret_id]
            inline = re.search(r"--token[= ](\S+)", line)
            if inline:
                token = inline.group(1)
            problem = download_error(repo, token)
            if problem:
                raise HfFailure(f"RUN {match.group(0)}: {problem}")
            repos.append(repo)
    return repos


def docker_secrets(values: list[str], env: dict[str, str], files: dict[str, Any]) -> dict[str, str]:
    """`--secret id=X,env=VAR` / `--secret id=X,src=FILE` to {id: value}."""
    out: dict[str, str] = {}
    for value in values:
        parts = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
        secret_id = parts.get("id", "")
        if not secret_id:
            raise HfFailure(f"invalid secret {value!r}: id is required")
        if "env" in parts:
            if parts["env"] not in env:
                raise HfFailure(
                    f'secret {secret_id}: environment variable "{parts["env"]}" is not set'
                )
            out[secret_id] = env[parts["env"]]
        elif "src" in parts:
            data = files.get(parts["src"])
            if data is None:
                raise HfFailure(
                    f"secret {secret_id}: open {parts['src']}: no such file or directory"
                )
            out[secret_id] = data.decode() if isinstance(data, bytes) else str(data)
        else:
            raise HfFailure(f"invalid secret {value!r}: give env= or src=")
    return out
