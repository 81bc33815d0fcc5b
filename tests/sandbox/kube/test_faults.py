"""A sandbox cluster's Kubernetes API takes the same faults as Google's APIs and answers
them as GKE's API server would; its requests are logged (discovery aside)."""

import pytest
import requests
from google.api_core import exceptions as gexc

from gcp import kube
from gcp.clients import credentials
from tests.gcp.test_kube import namespace

pytestmark = pytest.mark.django_db


@pytest.fixture
def conn(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    return make_conn.__wrapped__(sandbox, sandbox_process)


def _raw(conn, tmp_path, method, path):
    ca = tmp_path / "ca.pem"
    ca.write_text(kube.configuration(conn).ca_cert_data)
    token = credentials().token
    return requests.request(
        method,
        f"https://{conn.endpoint}{path}",
        verify=str(ca),
        timeout=10,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/apply-patch+yaml",
        },
        params={"fieldManager": "hangar"},
        data=b"{}",
    )


def test_a_rate_limit_is_a_status_with_retry_after(sandbox, conn, tmp_path):
    kube.read(conn, "v1", "Namespace", "team-ml")  # discovery done, and a token minted
    sandbox.add_fault(method="PATCH", path=r"^/api/v1/namespaces/team-ml$", status=429, times=1)
    reply = _raw(conn, tmp_path, "PATCH", "/api/v1/namespaces/team-ml")
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "1"
    assert reply.json()["kind"] == "Status" and reply.json()["reason"] == "TooManyRequests"
    # The fault is spent: the same apply now goes through.
    assert kube.apply(conn, namespace())["metadata"]["name"] == "team-ml"


def test_permission_denied_names_gkes_permission(sandbox, conn):
    sandbox.add_fault(method="PATCH", path=r"^/api/v1/namespaces/team-ml$", status=403, times=1)
    with pytest.raises(gexc.Forbidden, match=r'requires one of \["container.namespaces.update"\]'):
        kube.apply(conn, namespace())


def test_unavailable_and_the_request_log(sandbox, conn):
    sandbox.add_fault(method="GET", path=r"/namespaces/team-ml$", status=503, times=1)
    with pytest.raises(gexc.ServiceUnavailable):
        kube.read(conn, "v1", "Namespace", "team-ml")
    assert kube.read(conn, "v1", "Namespace", "team-ml") is None
    logged = [
        (e["kind"], e["method"], e["path"], e["status"])
        for e in sandbox.requests()
        if e["kind"] == "kube"
    ]
    assert logged[-2:] == [
        ("kube", "GET", "/api/v1/namespaces/team-ml", 503),  # answered by the fault
        ("kube", "GET", "/api/v1/namespaces/team-ml", 404),
    ]
    # Discovery is cached by clients: neither logged nor faulted.
    paths = {e["path"] for e in sandbox.requests() if e["kind"] == "kube"}
    assert not paths & {"/api", "/api/v1", "/apis", "/version"}
