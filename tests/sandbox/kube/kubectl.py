"""The real kubectl (Debian's kubernetes-client) against a sandbox GKE cluster's API server:
a cluster made through GKE's REST API, a kubeconfig with its endpoint, CA and an access
token from the sandbox's metadata server, as `gcloud container clusters get-credentials`
writes one (with the token in place of the auth plugin)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

KUBECTL = shutil.which("kubectl")
PARENT = "projects/hangar-sandbox/locations/us-central1"
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def access_token(sandbox_url: str) -> str:
    reply = requests.get(
        f"{sandbox_url}/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"},
        timeout=10,
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


@dataclass
class Kubectl:
    kubeconfig: Path
    cache: Path
    endpoint: str
    ca_pem: Path
    token: str

    def run(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        assert KUBECTL is not None
        done = subprocess.run(
            [KUBECTL, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.cache}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done

    def out(self, *args: str, timeout: float = 60) -> str:
        return self.run(*args, timeout=timeout).stdout

    def refused(self, *args: str) -> str:
        done = self.run(*args, check=False)
        assert done.returncode != 0, f"kubectl {' '.join(args)} was accepted: {done.stdout}"
        return done.stderr

    def json(self, *args: str) -> Any:
        return json.loads(self.out(*args, "-o", "json"))

    def start(self, *args: str) -> subprocess.Popen[str]:
        """A kubectl that keeps running (get -w, logs -f); the caller stops it."""
        assert KUBECTL is not None
        return subprocess.Popen(
            [KUBECTL, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.cache}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        """A raw request to the API server, for what kubectl does not show."""
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return requests.request(
            method,
            f"https://{self.endpoint}{path}",
            headers=headers,
            verify=str(self.ca_pem),
            timeout=30,
            **kw,
        )


def make_cluster(sandbox_url: str, tmp: Path, name: str = "kube") -> Kubectl:
    token = access_token(sandbox_url)
    auth = {"Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{sandbox_url}/v1/{PARENT}/clusters",
        headers=auth,
        json={"cluster": {"name": name, "autopilot": {"enabled": True}}},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 30
    cluster: dict[str, Any] = {}
    while time.monotonic() < deadline:
        cluster = requests.get(
            f"{sandbox_url}/v1/{PARENT}/clusters/{name}", headers=auth, timeout=30
        ).json()
        if cluster.get("endpoint") and cluster.get("status") == "RUNNING":
            break
        time.sleep(0.1)
    assert cluster.get("endpoint"), "the cluster did not come up"
    ca = cluster["masterAuth"]["clusterCaCertificate"]
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": f"https://{cluster['endpoint']}",
                    "certificate-authority-data": ca,
                },
            }
        ],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path = tmp / "kubeconfig"
    path.write_text(json.dumps(kubeconfig))
    import base64

    pem = tmp / "ca.pem"
    pem.write_bytes(base64.b64decode(ca))
    return Kubectl(path, tmp / "cache", cluster["endpoint"], pem, token)


def wait_for(predicate: Any, timeout: float = 60, what: str = "condition") -> Any:
    """`predicate()`'s first true value, polled; the default deadline leaves room for a
    machine whose cores the other suites share (success returns at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
