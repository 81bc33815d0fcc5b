"""What Cloud Build checks before it queues a build, and its substitution rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from google.cloud.devtools import cloudbuild_v1 as cb
from google.protobuf.message import Message

from sandbox.core.errors import invalid

BuildOptions = cb.BuildOptions.pb()

TAG = re.compile(r"[\w][\w.-]{0,127}")
USER_KEY = re.compile(r"_[A-Z0-9_]+")
ENV_ENTRY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.S)
SECRET_VERSION = re.compile(r"projects/[^/]+/secrets/[^/]+/versions/[^/]+")
SERVICE_ACCOUNT = re.compile(r"projects/[^/]+/serviceAccounts/[^/@]+@[^/]+")
IMAGE_REF = re.compile(
    r"[a-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)+(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
TEMPLATE = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
MAX_TIMEOUT = 24 * 3600

BUILTINS = (
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
    "TRIGGER_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "COMMIT_SHA",
    "SHORT_SHA",
    "REVISION_ID",
    "BRANCH_NAME",
    "TAG_NAME",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "REF_NAME",
)


def _bad(message: str, field: str = "build") -> Exception:
    return invalid(f"invalid build: {message}", field)


def validate(build: Message) -> None:
    """Raise 400 INVALID_ARGUMENT for what Cloud Build refuses at submission."""
    # The order is kept: a build with several problems is refused for the first found.
    if len(build.steps) == 0:
        raise _bad("build must have at least one step", "build.steps")
    if len(build.steps) > 300:
        raise _bad("a build can have at most 300 steps", "build.steps")
    declared = _declared_secrets(build)
    used: set[str] = set(build.options.secret_env)
    ids: set[str] = set()
    for i, step in enumerate(build.steps):
        used |= _check_step(i, step, declared, ids)
    for name in declared:
        if name not in used:
            raise _bad(
                f'secretEnv "{name}" is defined without being used by any build step',
                "build.available_secrets",
            )
    _check_tags(build)
    _check_substitution_keys(build)
    if build.HasField("timeout"):
        seconds = build.timeout.seconds + build.timeout.nanos / 1e9
        if not 0 < seconds <= MAX_TIMEOUT:
            raise invalid("invalid timeout: must be between 1s and 24h", "build.timeout")
    if build.service_account:
        _check_service_account(build)


def _declared_secrets(build: Message) -> list[str]:
    """The env names secrets are bound to, from availableSecrets and the legacy `secrets`."""
    declared = [s.env for s in build.available_secrets.secret_manager]
    for secret in build.available_secrets.secret_manager:
        if not SECRET_VERSION.fullmatch(secret.version_name):
            raise _bad(
                f'invalid secret version name "{secret.version_name}", expected '
                '"projects/*/secrets/*/versions/*"',
                "build.available_secrets",
            )
        if not secret.env:
            raise _bad(
                "availableSecrets.secretManager[].env is required", "build.available_secrets"
            )
    declared += [k for s in build.secrets for k in s.secret_env]
    if len(set(declared)) != len(declared):
        raise _bad("secret env names must be unique", "build.available_secrets")
    return declared


def _check_step(i: int, step: Message, declared: list[str], ids: set[str]) -> set[str]:
    """Check step `i`, adding its id to `ids`; returns the secret env names it uses.

    `ids` holds only earlier steps' ids, so waitFor can name no later step (nor this one).
    """
    where = f"build.steps[{i}]"
    if not step.name:
        raise _bad(f"build step {i} must specify name", where)
    if step.script and (step.args or step.entrypoint):
        raise _bad(f"build step {i}: script cannot be used with args or entrypoint", where)
    for entry in step.env:
        if not ENV_ENTRY.fullmatch(entry):
            raise _bad(f'build step {i} env "{entry}" must be of the form KEY=VALUE', where)
    plain = {e.split("=", 1)[0] for e in step.env}
    for name in step.secret_env:
        if name not in declared:
            raise _bad(
                f'build step {i} secretEnv "{name}" is not defined in availableSecrets', where
            )
        if name in plain:
            raise _bad(f'build step {i}: "{name}" is both an env and a secretEnv', where)
    for dep in step.wait_for:
        if dep != "-" and dep not in ids:
            raise _bad(f'build step {i} depends on unknown step id "{dep}"', where)
    if step.id:
        if step.id in ids:
            raise _bad(f'build step id "{step.id}" is not unique', where)
        ids.add(step.id)
    if step.HasField("timeout") and step.timeout.seconds <= 0:
        raise _bad(f"build step {i} timeout must be positive", where)
    return set(step.secret_env)


def _check_tags(build: Message) -> None:
    if len(build.tags) > 64:
        raise _bad("a build can have at most 64 tags", "build.tags")
    for tag in build.tags:
        if not TAG.fullmatch(tag):
            raise invalid(
                f'invalid build tag "{tag}": must match format "^[\\w][\\w.-]{{0,127}}$"',
                "build.tags",
            )


def _check_substitution_keys(build: Message) -> None:
    for key in build.substitutions:
        if not USER_KEY.fullmatch(key) and key not in BUILTINS:
            raise invalid(
                f"invalid value for 'build.substitutions': substitution key \"{key}\" does not "
                'respect format "^_[A-Z0-9_]+$" and is not an overridable built-in substitution',
                "build.substitutions",
            )


def _check_service_account(build: Message) -> None:
    """A build run as a chosen service account must say where its logs go."""
    if not SERVICE_ACCOUNT.fullmatch(build.service_account):
        raise invalid(
            "invalid value for 'build.service_account': expected "
            '"projects/{project}/serviceAccounts/{email}"',
            "build.service_account",
        )
    logging_ok = build.options.logging in (
        BuildOptions.LoggingMode.CLOUD_LOGGING_ONLY,
        BuildOptions.LoggingMode.NONE,
    )
    bucket_ok = bool(build.logs_bucket) or (
        build.options.default_logs_bucket_behavior
        == BuildOptions.DefaultLogsBucketBehavior.REGIONAL_USER_OWNED_BUCKET
    )
    if not (logging_ok or bucket_ok):
        raise invalid(
            "invalid build: if 'build.service_account' is specified, the build must either "
            "(a) specify 'build.logs_bucket', (b) use the REGIONAL_USER_OWNED_BUCKET "
            "build.options.default_logs_bucket_behavior option, or (c) use either "
            "CLOUD_LOGGING_ONLY / NONE logging options",
            "build.service_account",
        )


def substitute(build: Message, builtins: dict[str, str]) -> None:
    """Expand $VAR/${VAR} in place with Cloud Build's rules; `$$` is a literal `$`."""
    loose = build.options.substitution_option == BuildOptions.SubstitutionOption.ALLOW_LOOSE
    user = dict(build.substitutions)
    values = {**builtins, **user}
    seen: set[str] = set()

    def expand(text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            key = m.group(1) if m.group(1) is not None else m.group(2)
            if not USER_KEY.fullmatch(key) and key not in BUILTINS:
                if loose:
                    return m.group(0)
                raise invalid(
                    f"invalid value for 'build.substitutions': key in the template \"{key}\" "
                    "is not a valid built-in substitution",
                    "build.substitutions",
                )
            seen.add(key)
            if key not in values:
                if loose or key in BUILTINS:
                    return ""
                raise invalid(
                    f"invalid value for 'build.substitutions': key in the template \"{key}\" "
                    "is not matched in the substitution list",
                    "build.substitutions",
                )
            return values[key]

        return TEMPLATE.sub(repl, text)

    def each(container: Any, apply: Callable[[str], str]) -> None:
        items = list(container)
        del container[:]
        container.extend(apply(x) for x in items)

    for step in build.steps:
        step.name = expand(step.name)
        step.entrypoint = expand(step.entrypoint)
        step.dir_ = expand(step.dir_)
        step.script = expand(step.script)
        each(step.args, expand)
        each(step.env, expand)
    each(build.options.env, expand)
    each(build.images, expand)
    # A secret's version name takes substitutions too: the codelab behind seed 001 names
    # `projects/${PROJECT_ID}/secrets/HF_TOKEN/versions/latest` and runs as written
    # (https://cloud.google.com/build/docs/securing-builds/use-secrets,
    # https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values).
    for secret in build.available_secrets.secret_manager:
        secret.version_name = expand(secret.version_name)
    if not loose:
        for key in user:
            if key not in seen:
                raise invalid(
                    f"invalid value for 'build.substitutions': key \"{key}\" in the "
                    "substitution data is not matched in the template",
                    "build.substitutions",
                )
    for image in build.images:
        if not IMAGE_REF.fullmatch(image):
            raise invalid(f'invalid image name "{image}"', "build.images")
