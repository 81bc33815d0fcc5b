"""Model servers fail as they do: vLLM with no weights at its gs:// path crash-loops with
vLLM's own error in the pod log; seed 003's `vllm.entrypoints.api_server` (vLLM's demo
server) has no OpenAI routes, so /v1/* answers 404 through the service proxy."""

import json

import pytest

from deployments.targets.gke_vllm import manifests
from gcp import kube
from tests.runbook.test_kube_workloads import (
    NS,
    UNIVERSE,
    apply_all,
    conn,  # noqa: F401
    google_side,
    pods,
    server,
    wait_for,
)

pytestmark = pytest.mark.django_db


def crashed(conn, restarts: int = 2) -> dict:  # noqa: F811
    return wait_for(
        lambda: next(
            (
                p
                for p in pods(conn, "gemma-26b")
                if (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0)
                >= restarts
            ),
            None,
        ),
        what=f"{restarts} restarts",
    )


def log(conn, pod: dict) -> str:  # noqa: F811
    path = f"/api/v1/namespaces/{NS}/pods/{pod['metadata']['name']}/log"
    reply = kube.proxy(conn, "GET", path)
    assert reply.status == 200
    return reply.data.decode()


def test_an_empty_bucket_crash_loops_with_vllms_error(sandbox, conn):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    s = server(universe=UNIVERSE)
    email = google_side(s.bucket, s.ksa, weights=False)  # access granted, nothing copied
    apply_all(conn, server(universe=UNIVERSE, gsa_email=email))
    pod = crashed(conn)
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert not status["ready"]
    said = status["lastState"]["terminated"]["message"]
    assert "ValueError: Invalid repository ID or local directory specified" in said
    text = log(conn, pod)
    assert "Starting to load model" in text  # vLLM's start-up lines, then its error
    assert "ensure the presence of a 'config.json'" in text
    assert text.index("Starting to load model") < text.index("ValueError")
    # The restart count keeps growing while nothing changes.
    assert crashed(conn, status["restartCount"] + 1)
    deployment = kube.read(conn, "apps/v1", "Deployment", "gemma-26b", NS)
    assert deployment["status"].get("availableReplicas", 0) == 0


def test_a_missing_bucket_crash_loops_with_the_storage_404(sandbox, conn):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    s = server(universe=UNIVERSE)
    email = google_side(s.bucket, s.ksa)
    missing = server(universe=UNIVERSE, gsa_email=email, bucket="no-such-weights-bucket")
    apply_all(conn, missing)
    pod = crashed(conn, 1)
    said = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"]
    assert "404" in said and "The specified bucket does not exist." in said


def test_the_demo_api_server_has_no_openai_routes(sandbox, conn):  # noqa: F811
    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    s = server(universe=UNIVERSE)
    s = server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa))
    apply_all(conn, s)
    seed_like = manifests.deployment(s)
    args = seed_like["spec"]["template"]["spec"]["containers"][0]["args"]
    args[args.index("vllm.entrypoints.openai.api_server")] = "vllm.entrypoints.api_server"
    seed_like["spec"]["strategy"] = {"type": "Recreate"}
    kube.apply(conn, seed_like)
    wait_for(
        lambda: (
            (ps := pods(conn, "gemma-26b"))
            and all(p["spec"]["containers"][0]["args"] == args for p in ps)
            and all((p["status"].get("containerStatuses") or [{}])[0].get("ready") for p in ps)
        ),
        what="the seed's pod ready",
    )
    port = manifests.PORT
    models = kube.proxy(conn, "GET", kube.proxy_path(NS, s.name, port, "/v1/models"))
    assert models.status == 404
    assert json.loads(models.data) == {"detail": "Not Found"}
    chat = kube.proxy(
        conn,
        "POST",
        kube.proxy_path(NS, s.name, port, "/v1/chat/completions"),
        {"model": s.hf_id, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status == 404
    assert kube.proxy(conn, "GET", kube.proxy_path(NS, s.name, port, "/health")).status == 200
    generated = kube.proxy(
        conn, "POST", kube.proxy_path(NS, s.name, port, "/generate"), {"prompt": "hi"}
    )
    assert generated.status == 200 and json.loads(generated.data)["text"][0].startswith("hi")
