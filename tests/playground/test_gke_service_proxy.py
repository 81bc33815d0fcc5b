"""The playground reaches a GKE model server through its cluster's API server proxy: the
portal's Google access token (minted off the event loop, one for every cluster) and TLS
verified against the cluster's CA on Hangar's Cluster record, never the system's nor none.
"""

import asyncio
import base64
import json
import threading
import time

import pytest

from clusters.models import Cluster
from deployments.targets.endpoint import Credential
from deployments.targets.gke_vllm import manifests
from gcp import endpoint_credentials, kube
from gcp.endpoint import get, get_text, post_json
from gcp.endpoint_credentials import (
    GkeProxyAccessToken,
    UpstreamCredentialError,
    _Cached,
    upstream_headers,
    upstream_trust_now,
)
from playground.protocols import ChatParams, Protocol, chat_request, parser_for
from playground.upstream import UpstreamError, json_headers, upstream_close, upstream_request
from sandbox.kube.tls import make_cluster_tls
from tests.deployments.targets.test_gke_vllm_manifests import NS, server
from tests.runbook.test_kube_workloads import UNIVERSE, apply_all, google_side, wait_for

pytestmark = pytest.mark.django_db
GKE = Credential.GKE_SERVICE_PROXY_ACCESS_TOKEN
MODEL = "google/gemma-4-26B-A4B-it"


@pytest.fixture
def conn(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    return make_conn.__wrapped__(sandbox, sandbox_process)


@pytest.fixture
def cluster(conn) -> Cluster:
    return Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="kube",
        status="ready",
        endpoint=conn.endpoint,
        ca_certificate=conn.ca_certificate,
    )


@pytest.fixture
def model_behind_proxy(sandbox, conn, cluster) -> str:
    """A ready vLLM server behind its private Service; the proxy URL the playground uses."""
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    s = server(universe=UNIVERSE)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa)))
    health = kube.proxy_path(NS, s.name, manifests.PORT, "/health")
    wait_for(lambda: kube.proxy(conn, "GET", health).status == 200, what="the model")
    return f"https://{conn.endpoint}" + kube.proxy_path(NS, s.name, manifests.PORT, "")


class Counting(GkeProxyAccessToken):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def _mint(self, key: str) -> _Cached:
        self.threads.append(threading.current_thread().name)
        time.sleep(0.05)  # the metadata server's round trip, blocking
        return super()._mint(key)


def test_one_access_token_minted_off_the_loop_serves_every_cluster(sandbox):
    strategy = Counting()

    async def burst():
        urls = [
            f"https://10.0.0.{i % 3}/api/v1/namespaces/a/services/b:8000/proxy" for i in range(12)
        ]
        return await asyncio.gather(*[strategy.headers(url) for url in urls])

    results = asyncio.run(burst())
    assert len(strategy.threads) == 1
    assert threading.main_thread().name not in strategy.threads
    (header,) = {r["Authorization"] for r in results}
    assert header.startswith("Bearer ") and len(header) > 20
    # A worker (no loop) gets the same cached token without minting again.
    assert strategy.headers_now("https://10.0.0.9/x")["Authorization"] == header
    assert len(strategy.threads) == 1


def test_the_ca_is_the_one_on_the_clusters_record(db):
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    Cluster.objects.create(
        project="hangar-sandbox",
        location="us-central1",
        name="kube",
        status="ready",
        endpoint="34.1.2.3",
        ca_certificate=base64.b64encode(ca.encode()).decode(),
    )
    url = "https://34.1.2.3/api/v1/namespaces/hangar-ml/services/llm:8000/proxy"
    assert upstream_trust_now(credential=GKE, endpoint_url=url) == ca
    # No cluster there (or one deleted): Hangar cannot tell the server is genuine.
    for unknown in ("https://34.9.9.9/api/v1/x", "not a url"):
        with pytest.raises(UpstreamCredentialError, match="knows no cluster"):
            upstream_trust_now(credential=GKE, endpoint_url=unknown)
    Cluster.objects.update(status="deleted")
    with pytest.raises(UpstreamCredentialError, match="knows no cluster"):
        upstream_trust_now(credential=GKE, endpoint_url=url)
    # Cloud Run's certificates chain to the public CAs: no CA of Hangar's own.
    assert upstream_trust_now(credential=Credential.CLOUD_RUN_ID_TOKEN, endpoint_url=url) == ""


async def _stream(base: str, ca_pem: str, refused_hint: str = "") -> tuple[str, bool]:
    path, body = chat_request(
        Protocol.OPENAI, ChatParams(MODEL, [{"role": "user", "content": "Why is the sky blue?"}])
    )
    headers = await upstream_headers(credential=GKE, endpoint_url=base)
    text, done = "", False
    try:
        async with upstream_request(
            method="POST",
            url=base + path,
            headers=json_headers(headers),
            body=json.dumps(body).encode(),
            started=time.monotonic(),
            ca_pem=ca_pem,
            refused_hint=refused_hint,
        ) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            parser = parser_for(Protocol.OPENAI)
            async for data in response.content.iter_any():
                for piece in parser.feed(data):
                    text += piece.content
                    done = done or piece.done
    finally:
        await upstream_close()
    return text, done


def test_a_chat_streams_through_the_service_proxy(model_behind_proxy):
    ca_pem = upstream_trust_now(credential=GKE, endpoint_url=model_behind_proxy)
    text, done = asyncio.run(_stream(model_behind_proxy, ca_pem))
    assert text.strip()
    assert done


def test_tls_is_verified_against_the_clusters_ca(model_behind_proxy):
    # The system's CAs do not know the cluster's: refused, not skipped.
    with pytest.raises(UpstreamError) as refused:
        asyncio.run(_stream(model_behind_proxy, ""))
    assert refused.value.code == "upstream_unreachable"
    assert "certificate verify failed" in refused.value.message
    # Another cluster's CA does not vouch for this one either.
    stranger = make_cluster_tls("stranger").ca_pem.decode()
    with pytest.raises(UpstreamError, match="certificate verify failed"):
        asyncio.run(_stream(model_behind_proxy, stranger))


def test_the_strategy_is_registered():
    assert isinstance(endpoint_credentials.STRATEGIES[GKE], GkeProxyAccessToken)


def test_the_worker_side_client_reaches_it_too(model_behind_proxy):
    """gcp/endpoint.py (a smoke test's or a metrics read's client) with the same
    credential kind: the access token, TLS against the cluster's CA."""
    health = get(address=model_behind_proxy, credential=GKE, path="/health", timeout=10)
    assert health.status == 200
    reply = post_json(
        address=model_behind_proxy,
        credential=GKE,
        path="/v1/chat/completions",
        body={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert reply.status == 200 and reply.body["choices"][0]["message"]["content"]
    status, text = get_text(address=model_behind_proxy, credential=GKE, path="/metrics", timeout=10)
    assert status == 200 and "vllm:" in text


def test_a_refused_credential_says_what_the_endpoint_wants(model_behind_proxy, sandbox):
    """The API server's 403 on the proxy: the person reads what this endpoint checks (its
    target's access hint), not Cloud Run's invoker role."""
    sandbox.add_fault(method="POST", path=r"/proxy/v1/chat/completions$", status=403, times=1)
    ca_pem = upstream_trust_now(credential=GKE, endpoint_url=model_behind_proxy)
    hint = "Hangar's identity needs roles/container.developer (services/proxy)."
    with pytest.raises(UpstreamError) as refused:
        asyncio.run(_stream(model_behind_proxy, ca_pem, refused_hint=hint))
    assert refused.value.code == "upstream_auth" and refused.value.status == 502
    assert hint in refused.value.message
    assert "invoker" not in refused.value.message
