"""A Kubernetes Secret's values never reach the sandbox's request log or state, as a Secret
Manager payload never does; the API server still holds and returns them."""

import base64
import json

import pytest
import requests

from gcp import kube
from gcp.clients import credentials
from tests.gcp.test_kube import namespace

pytestmark = pytest.mark.django_db

TOKEN = "hf_LeakCanaryKubeQwertyAsdf0123456789"
FORMS = (TOKEN, base64.b64encode(TOKEN.encode()).decode(), TOKEN[3:])


@pytest.fixture
def conn(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    return make_conn.__wrapped__(sandbox, sandbox_process)


def _secret(**fields: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hf-token", "namespace": "team-ml"},
        "type": "Opaque",
        **fields,
    }


def _assert_absent(sandbox) -> None:
    for where, text in (
        ("the request log", json.dumps(sandbox.requests())),
        ("the state", json.dumps(sandbox.state())),
    ):
        for form in FORMS:
            assert form not in text, f"the token appears in {where}"


def test_a_secret_applied_is_redacted_in_the_request_log_and_state(sandbox, conn):
    kube.apply(conn, namespace())
    encoded = base64.b64encode(TOKEN.encode()).decode()
    kube.apply(conn, _secret(data={"HF_TOKEN": encoded}))

    # The API server holds it and gives it back to an authorised client.
    held = kube.read(conn, "v1", "Secret", "hf-token", "team-ml")
    assert held is not None and held["data"] == {"HF_TOKEN": encoded}

    _assert_absent(sandbox)
    # The log still says which key was written, as it says a version was added.
    applied = [
        e
        for e in sandbox.requests(path_regex=r"/secrets/hf-token$", method="PATCH")
        if e["kind"] == "kube"
    ]
    assert applied and applied[-1]["body"]["data"] == {"HF_TOKEN": "<redacted>"}


def test_a_yaml_apply_with_string_data_is_redacted(sandbox, conn, tmp_path):
    kube.apply(conn, namespace())
    ca = tmp_path / "ca.pem"
    ca.write_text(kube.configuration(conn).ca_cert_data)
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hf-token\n  namespace: team-ml\n"
        f"stringData:\n  HF_TOKEN: {TOKEN}\n"
    )
    reply = requests.patch(
        f"https://{conn.endpoint}/api/v1/namespaces/team-ml/secrets/hf-token",
        verify=str(ca),
        timeout=10,
        headers={
            "Authorization": f"Bearer {credentials().token}",
            "Content-Type": "application/apply-patch+yaml",
        },
        params={"fieldManager": "kubectl"},
        data=manifest.encode(),
    )
    assert reply.status_code in (200, 201), reply.text
    # stringData is write-only: merged into data on write, never output on a read.
    held = kube.read(conn, "v1", "Secret", "hf-token", "team-ml")
    assert held is not None and "stringData" not in held
    assert held["data"] == {"HF_TOKEN": FORMS[1]}
    _assert_absent(sandbox)
    logged = sandbox.requests(path_regex=r"/secrets/hf-token$", method="PATCH")
    assert logged[-1]["body"]["stringData"] == {"HF_TOKEN": "<redacted>"}


def test_a_patch_of_a_secrets_data_without_its_kind_is_redacted(sandbox, conn, tmp_path):
    # A merge or JSON patch names no kind: the path says it is a Secret. Whether the
    # API server takes that patch type or not, the log keeps none of its values.
    kube.apply(conn, namespace())
    ca = tmp_path / "ca.pem"
    ca.write_text(kube.configuration(conn).ca_cert_data)
    url = f"https://{conn.endpoint}/api/v1/namespaces/team-ml/secrets/hf-token"
    headers = {"Authorization": f"Bearer {credentials().token}"}
    for content_type, body in (
        ("application/merge-patch+json", {"stringData": {"HF_TOKEN": TOKEN}}),
        (
            "application/json-patch+json",
            [{"op": "add", "path": "/data/HF_TOKEN", "value": FORMS[1]}],
        ),
    ):
        requests.patch(
            url,
            verify=str(ca),
            timeout=10,
            headers={**headers, "Content-Type": content_type},
            data=json.dumps(body).encode(),
        )
    _assert_absent(sandbox)
