"""Runs a build's steps against a virtual /workspace, for the few step shapes Hangar uses.

The sandbox must know which model an image carries, so it reads the Dockerfile a
build writes and builds. Any step it cannot emulate fails the build, loudly,
rather than pretending to succeed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from sandbox.cloud_build import hf

DOCKER_BUILDER = "gcr.io/cloud-builders/docker"
DOCKER_NAMES = {DOCKER_BUILDER, f"{DOCKER_BUILDER}:latest"}
ECHO_BASE64 = re.compile(
    r'echo\s+(?:"(?P<q>[^"]*)"|(?P<bare>\S+))\s*\|\s*base64\s+(?:-d|--decode)\s*>\s*(?P<file>\S+)'
)
INSTRUCTIONS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
}
VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class StepFailed(Exception):
    def __init__(self, reason: str, failure_type: str = "USER_BUILD_STEP") -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure_type = failure_type


@dataclass
class BuiltImage:
    tag: str
    dockerfile: str
    base_image: str
    env: dict[str, str]
    model: str | None
    hf_models: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.dockerfile.encode()).hexdigest()


@dataclass
class Workspace:
    files: dict[str, bytes] = field(default_factory=dict)
    images: dict[str, BuiltImage] = field(default_factory=dict)
    pushes: list[str] = field(default_factory=list)
    # The project's Cloud Storage (sandbox.storage.StorageStore), for steps that upload.
    storage: Any = None
    # The account the build runs as: an upload needs write access on the bucket.
    account: str = ""

    @staticmethod
    def path(step_dir: str, name: str) -> str:
        if name.startswith("/workspace/"):
            name = name[len("/workspace/") :]
        elif name.startswith("/"):
            raise StepFailed(f"cannot write outside /workspace: {name}")
        return posixpath.normpath(posixpath.join(step_dir or ".", name))


def run_step(
    ws: Workspace, step: Message, extra_env: list[str], secrets: dict[str, str] | None = None
) -> None:
    """Emulate one (already substituted) step, or raise StepFailed."""
    if step.script:
        raise StepFailed("the sandbox cannot emulate 'script' steps")
    env = dict(e.split("=", 1) for e in [*extra_env, *step.env])
    # secretEnv: the build resolved them from Secret Manager before its first step.
    env.update({name: (secrets or {}).get(name, "") for name in step.secret_env})
    args = list(step.args)
    try:
        if _hf_or_gcloud(ws, step, args, env):
            return
    except hf.HfFailure as exc:
        raise StepFailed(str(exc)) from exc
    if step.entrypoint == "bash" and len(args) == 2 and args[0] == "-c":
        m = ECHO_BASE64.fullmatch(args[1].strip())
        if m:
            _write_base64(ws, step.dir_, m, env)
            return
    entrypoint = step.entrypoint
    if step.name in DOCKER_NAMES and entrypoint == "bash" and len(args) == 2 and args[0] == "-c":
        # Seed 001's step: a bash script of one `docker build` command, its
        # `$$SECRET_ENV` (now `$SECRET_ENV`) expanded by the shell.
        words = _one_command(args[1], env)
        if words[:2] == ["docker", "build"]:
            entrypoint, args = "", words[1:]
    if step.name in DOCKER_NAMES and not entrypoint and args:
        if args[0] == "build":
            try:
                _docker_build(ws, step.dir_, args[1:], env)
            except hf.HfFailure as exc:
                raise StepFailed(str(exc)) from exc
            return
        if args[0] == "push" and len(args) == 2:
            if args[1] not in ws.images:
                raise StepFailed(f"An image does not exist locally with the tag: {args[1]}")
            ws.pushes.append(args[1])
            return
    raise StepFailed(
        'the sandbox cannot emulate this step (supported: bash -c \'echo "$$VAR" | base64 -d '
        f"> FILE', docker build, docker push); got name={step.name!r} "
        f"entrypoint={step.entrypoint!r} args={args!r}"
    )


def _one_command(script: str, env: dict[str, str]) -> list[str]:
    """The words of a script that is one simple command, its variables expanded; [] if
    it is more than that (lists, pipes)."""
    lexer = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return []
    if any(w and set(w) <= set(";&|") for w in words):
        return []
    return [VAR.sub(lambda v: env.get(v.group(1) or v.group(2), ""), w) for w in words]


def _write_base64(ws: Workspace, step_dir: str, m: re.Match[str], env: dict[str, str]) -> None:
    raw = m.group("q") if m.group("q") is not None else m.group("bare")
    value = VAR.sub(lambda v: env.get(v.group(1) or v.group(2), ""), raw)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StepFailed("base64: invalid input") from exc
    ws.files[Workspace.path(step_dir, m.group("file"))] = data


def _hf_or_gcloud(ws: Workspace, step: Message, args: list[str], env: dict[str, str]) -> bool:
    """Steps that download Hugging Face weights or copy them to a bucket; False if neither."""
    if step.entrypoint in hf.HF_COMMANDS and hf.HF_IMAGES.fullmatch(step.name):

        def write(name: str, data: bytes) -> None:
            ws.files[Workspace.path(step.dir_, name)] = data

        hf.download_step(args, env, write)
        return True
    if step.entrypoint == "gcloud" and hf.GCLOUD_IMAGES.fullmatch(step.name):
        storage = ws.storage

        def put(bucket: str, name: str, data: bytes) -> None:
            if not storage.can_write(bucket, ws.account):
                raise hf.HfFailure(
                    f"ERROR: (gcloud.storage.{args[1]}) [{ws.account}] does not have permission "
                    f"to access b instance [{bucket}] (or it may not exist): {ws.account} does "
                    "not have storage.objects.create access to the Google Cloud Storage object."
                )
            storage.put(bucket, name, data)

        hf.gcloud_storage_step(
            args,
            ws.files,
            lambda name: Workspace.path(step.dir_, name),
            lambda bucket: storage is not None and bucket in storage.buckets,
            put,
        )
        return True
    return False


def _docker_build(ws: Workspace, step_dir: str, args: list[str], env: dict[str, str]) -> None:
    tags: list[str] = []
    dockerfile = "Dockerfile"
    secret_specs: list[str] = []
    build_args: dict[str, str] = {}
    rest = list(args)
    while rest and rest[0] in ("-t", "--tag", "-f", "--file", "--secret", "--build-arg"):
        flag = rest.pop(0)
        if not rest:
            raise StepFailed(f'flag needs an argument: "{flag}"')
        value = rest.pop(0)
        if flag in ("-t", "--tag"):
            tags.append(value)
        elif flag == "--secret":
            secret_specs.append(value)
        elif flag == "--build-arg":
            key, _, arg = value.partition("=")
            build_args[key] = arg if "=" in value else env.get(key, "")
        else:
            dockerfile = value
    buildkit = env.get("DOCKER_BUILDKIT") == "1"
    if secret_specs and not buildkit:
        raise StepFailed("--secret requires BuildKit (set DOCKER_BUILDKIT=1)")
    secrets = hf.docker_secrets(secret_specs, env, ws.files)
    if rest != ["."]:
        raise StepFailed(
            f"the sandbox only emulates 'docker build [-t IMAGE]... [-f FILE] .'; got {args!r}"
        )
    if not tags:
        raise StepFailed("the sandbox needs 'docker build -t IMAGE' to know what was built")
    path = Workspace.path(step_dir, dockerfile)
    if path not in ws.files:
        raise StepFailed(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
            f"lstat /workspace/{path}: no such file or directory"
        )
    text = ws.files[path].decode("utf-8", "replace")
    base, image_env, model = parse_dockerfile(text, ws, step_dir, build_args)
    runs = [line for line in _logical_lines(text) if line.upper().startswith("RUN ")]
    downloads = hf.dockerfile_downloads(runs, secrets, {**build_args, **image_env}, buildkit)
    for tag in tags:
        ws.images[tag] = BuiltImage(tag, text, base, image_env, model, downloads)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse_dockerfile(
    text: str, ws: Workspace, step_dir: str, build_args: dict[str, str] | None = None
) -> tuple[str, dict[str, str], str | None]:
    """Base image, environment and pulled Ollama model of the final stage. An `ARG` takes
    its `--build-arg` value when given one, else its default
    (https://docs.docker.com/reference/dockerfile/#arg)."""
    given = build_args or {}
    base = ""
    env: dict[str, str] = {}
    args: dict[str, str] = {}
    model: str | None = None
    lines = _logical_lines(text)
    if not lines:
        raise StepFailed("the Dockerfile (Dockerfile) cannot be empty")

    def expand(value: str) -> str:
        return VAR.sub(lambda v: {**args, **env}.get(v.group(1) or v.group(2), ""), value)

    for number, line in enumerate(lines, 1):
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction not in INSTRUCTIONS:
            raise StepFailed(
                f"dockerfile parse error on line {number}: unknown instruction: {instruction}"
            )
        if not base and instruction not in ("FROM", "ARG"):
            raise StepFailed("failed to solve: no build stage in current context")
        if instruction == "FROM":
            base = expand(rest.split()[0]) if rest else ""
            if not base:
                raise StepFailed(f"dockerfile parse error on line {number}: FROM requires an image")
            env, model = {}, None
        elif instruction == "ARG":
            key, _, default = rest.partition("=")
            key = key.strip()
            args[key] = given[key] if key in given else expand(default.strip().strip('"'))
        elif instruction == "ENV":
            env.update(_env_pairs(rest, number, expand))
        elif instruction == "RUN":
            for m in re.finditer(r"ollama\s+pull\s+(\S+)", rest):
                name = expand(m.group(1)).strip("\"'")
                if not name:
                    raise StepFailed(
                        f"RUN on line {number}: 'ollama pull' got an empty model name "
                        f"({m.group(1)} is not set)"
                    )
                model = name
        elif instruction in ("COPY", "ADD"):
            _check_sources(rest, number, ws, step_dir)
    return base, env, model


def _env_pairs(rest: str, number: int, exp: Callable[[str], str]) -> dict[str, str]:
    words = rest.split(None, 1)
    if not words:
        raise StepFailed(f"dockerfile parse error on line {number}: ENV requires a value")
    if "=" not in words[0]:
        if len(words) < 2:
            raise StepFailed(
                f"dockerfile parse error on line {number}: ENV must have two arguments"
            )
        return {words[0]: exp(words[1].strip())}
    try:
        tokens = shlex.split(rest)
    except ValueError as exc:
        raise StepFailed(f"dockerfile parse error on line {number}: {exc}") from exc
    pairs = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise StepFailed(f"dockerfile parse error on line {number}: ENV names can not be blank")
        pairs[key] = exp(value)
    return pairs


def _check_sources(rest: str, number: int, ws: Workspace, step_dir: str) -> None:
    words = [w for w in rest.split() if not w.startswith("--")]
    if rest.startswith("[") or any(w.startswith("--from") for w in rest.split()):
        return
    for src in words[:-1]:
        if "://" in src:
            continue
        path = Workspace.path(step_dir, src)
        if (
            path != "."
            and path not in ws.files
            and not any(f.startswith(path.rstrip("/") + "/") for f in ws.files)
        ):
            raise StepFailed(
                f"COPY failed: file not found in build context or excluded by .dockerignore: "
                f"stat {src}: file does not exist (line {number})"
            )
