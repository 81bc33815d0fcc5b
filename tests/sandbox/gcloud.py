"""The real gcloud (google-cloud-cli) pointed at a sandbox: every API it calls overridden to
the sandbox, an access token from the sandbox's metadata server in a token file, its
configuration and kubeconfig in a temporary directory, and no way out: usage reporting,
survey prompts and update checks are off, and every other host goes through a proxy that
refuses, so a request that would reach Google fails instead."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.kube.kubectl import access_token

GCLOUD = shutil.which("gcloud")
needs_gcloud = pytest.mark.skipif(GCLOUD is None, reason="gcloud is not installed")
PROJECT = "hangar-sandbox"
# The APIs the seeds' commands call, by gcloud's api_endpoint_overrides name.
APIS = (
    "container",
    "iam",
    "cloudbuild",
    "run",
    "artifactregistry",
    "secretmanager",
    "serviceusage",
    "cloudresourcemanager",
)


def _refusing_port() -> int:
    """A loopback port bound and never listened on, held for the session: a connection to
    it is refused at once (a fixed port, say 9, might have a listener that holds it open)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return int(sock.getsockname()[1])


_HELD: list[socket.socket] = []
# The proxy every host not in no_proxy goes through: it refuses, so nothing reaches Google.
DEAD_PROXY = f"http://127.0.0.1:{_refusing_port()}"


@dataclass
class Gcloud:
    env: dict[str, str]
    home: Path

    def run(
        self,
        *args: str,
        check: bool = True,
        cwd: Path | None = None,
        timeout: float = 120,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert GCLOUD is not None
        done = subprocess.run(
            [GCLOUD, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd or self.home,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"gcloud {' '.join(args)}: {done.stderr}")
        return done

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--format=json", cwd=cwd).stdout)

    def refused(self, *args: str) -> str:
        done = self.run(*args, check=False)
        assert done.returncode != 0, f"gcloud {' '.join(args)} was accepted: {done.stdout}"
        return done.stderr


def gcloud_for(sandbox_url: str, home: Path) -> Gcloud:
    token = home / "token"
    token.write_text(access_token(sandbox_url))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": str(token),
        "CLOUDSDK_CORE_PROJECT": PROJECT,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
        "CLOUDSDK_CORE_SHOULD_PROMPT_TO_ENABLE_API": "false",
        "CLOUDSDK_SURVEY_DISABLE_PROMPTS": "true",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": f"{sandbox_url}/storage/v1/",
        "KUBECONFIG": str(home / "kubeconfig"),
        "https_proxy": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for api in APIS:
        env[f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api.upper()}"] = f"{sandbox_url}/"
    return Gcloud(env, home)
