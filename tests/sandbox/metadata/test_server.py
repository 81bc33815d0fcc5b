"""The metadata server, through google-auth exactly as the portal uses it."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading

import google.auth
import jwt
import requests
from google.api_core import exceptions
from google.oauth2 import id_token

from gcp import cloud_run
from tests.sandbox.conftest import PROJECT, SERVICE_ACCOUNT


def test_default_credentials_refresh_from_metadata_server(sandbox, auth_request):
    creds, project = google.auth.default()
    assert project == PROJECT
    creds.refresh(auth_request)
    assert creds.token.startswith("ya29.")
    assert creds.valid
    assert creds.service_account_email == SERVICE_ACCOUNT


def test_fetch_id_token_returns_sandbox_jwt(sandbox, auth_request):
    audience = "http://example.test/_run/x"
    token = id_token.fetch_id_token(auth_request, audience)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == audience
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["email"] == SERVICE_ACCOUNT
    assert claims["email_verified"] is True
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["sub"]


def test_metadata_requires_flavor_header(sandbox_process):
    url = f"{sandbox_process.url}/computeMetadata/v1/project/project-id"
    assert requests.get(url, timeout=5).status_code == 403
    ok = requests.get(url, headers={"Metadata-Flavor": "Google"}, timeout=5)
    assert ok.text == PROJECT
    assert ok.headers["Metadata-Flavor"] == "Google"
    assert ok.headers["Content-Type"]
    numeric = requests.get(
        f"{sandbox_process.url}/computeMetadata/v1/project/numeric-project-id",
        headers={"Metadata-Flavor": "Google"},
        timeout=5,
    )
    assert numeric.text == "123456789012"


SCRIPT = """
import json, google.auth, google.auth.transport.requests
from google.oauth2 import id_token
creds, project = google.auth.default()
request = google.auth.transport.requests.Request()
creds.refresh(request)
print(json.dumps({"project": project, "token": creds.token,
                  "id_token": id_token.fetch_id_token(request, "https://aud.example")}))
"""


def test_google_auth_in_a_fresh_process(sandbox_process):
    """GCE_METADATA_HOST is read at import: a new process set up like the portal."""
    env = {
        **os.environ,
        "GCE_METADATA_HOST": sandbox_process.host_port,
        "GCE_METADATA_IP": sandbox_process.host_port,
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["project"] == PROJECT
    assert result["token"].startswith("ya29.")
    claims = jwt.decode(result["id_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://aud.example"


def test_a_call_through_the_clients_never_looks_up_google(sandbox, monkeypatch):
    """google-auth 2.62 looks up a service account's Regional Access Boundary at
    iamcredentials.googleapis.com in a background thread on a call to a non-regional
    endpoint: against the sandbox nothing may reach Google, not even its DNS."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        looked_up.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    before = set(threading.enumerate())
    with contextlib.suppress(exceptions.NotFound):
        cloud_run.get_service("projects/hangar-sandbox/locations/europe-west1/services/none")
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=30)  # a lookup it started has had its chance to resolve
    assert not [host for host in looked_up if host.endswith("googleapis.com")]
