"""A Deployment in a sandbox cluster plays out as on GKE Autopilot: events, status,
Workload Identity enforced. Seed 003's own mistake (no serviceAccountName) crash-loops
with the storage permission error; Hangar's manifests become Available."""

import time

import pytest

from deployments.targets.gke_vllm import identity, manifests
from gcp import iam, kube, storage
from runbook.executors import kube_rollout
from tests.deployments.targets.test_gke_vllm_manifests import NS, server

pytestmark = pytest.mark.django_db
PROJECT = "hangar-sandbox"
UNIVERSE = "googleapis.com"


def wait_for(read, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = read()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def conn(sandbox, sandbox_process):
    from tests.gcp.test_kube import conn as make_conn

    return make_conn.__wrapped__(sandbox, sandbox_process)


def condition(deployment: dict, kind: str) -> dict:
    return next(c for c in deployment["status"]["conditions"] if c["type"] == kind)


def events(conn, name: str) -> list[dict]:
    """The object's events, oldest first (as `kubectl events` shows them)."""
    found = kube.list_objects(conn, "v1", "Event", NS, field_selector=f"involvedObject.name={name}")
    return sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))


def pods(conn, app: str) -> list[dict]:
    return kube.list_objects(conn, "v1", "Pod", NS, label_selector=f"app={app}")


def read_deployment(conn, name="gemma-26b"):
    return kube.read(conn, "apps/v1", "Deployment", name, NS)


def google_side(bucket: str, ksa: str, *, bind: bool = True, weights: bool = True) -> str:
    """The deployment's Google account, its bucket with weights, and (if bind) Workload
    Identity."""
    email, _ = iam.ensure_service_account(
        project=PROJECT, body={"accountId": "hg-gemma-26b-abc123", "serviceAccount": {}}
    )
    storage.ensure_bucket(
        project=PROJECT,
        body={
            "name": bucket,
            "location": "US-CENTRAL1",
            "labels": {"managed-by": "hangar"},
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
        },
    )
    storage.grant_bucket_role(
        bucket=bucket, member=f"serviceAccount:{email}", role="roles/storage.objectViewer"
    )
    # The weights the plan's download build copies there (vLLM exits without config.json).
    if weights:
        storage._client(PROJECT).bucket(bucket).blob("config.json").upload_from_string("{}")
    if bind:
        member = identity.workload_identity_member(PROJECT, UNIVERSE, NS, ksa)
        iam.grant_service_account_role(
            project=PROJECT, email=email, member=member, role="roles/iam.workloadIdentityUser"
        )
    return email


def apply_all(conn, s, *, quota: int = 8) -> None:
    kube.apply(conn, manifests.namespace(NS, "ml-research"))
    kube.apply(conn, manifests.gpu_quota(NS, "ml-research", quota))
    for obj in manifests.server_objects(s):
        kube.apply(conn, obj)


def test_hangars_manifests_become_available(sandbox, conn):
    sandbox.config(operation_delay=0.5, model_load_delay=0.5)
    s = server(universe=UNIVERSE)
    email = google_side(s.bucket, s.ksa)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=email))
    first = read_deployment(conn)
    assert condition(first, "Available")["status"] == "False"
    ready = wait_for(
        lambda: (d := read_deployment(conn))["status"].get("availableReplicas") == 1 and d,
        what="the Deployment to be available",
    )
    assert condition(ready, "Available")["status"] == "True"
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
    (pod,) = pods(conn, "gemma-26b")
    reasons = [e["reason"] for e in events(conn, pod["metadata"]["name"])]
    assert reasons[:2] == ["TriggeredScaleUp", "Scheduled"]
    assert pod["spec"]["serviceAccountName"] == "gemma-26b"


def test_the_seeds_deployment_without_its_service_account_crash_loops(sandbox, conn):
    """Seed 003 never sets serviceAccountName: the pod runs as `default`, which no Google
    account trusts, and vLLM cannot read gs://BUCKET."""
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    s = server(universe=UNIVERSE)
    email = google_side(s.bucket, s.ksa)
    s = server(universe=UNIVERSE, gsa_email=email)
    seed_like = manifests.deployment(s)
    del seed_like["spec"]["template"]["spec"]["serviceAccountName"]
    apply_all(conn, s)
    kube.apply(conn, seed_like)
    crashed = wait_for(
        lambda: next(
            (
                p
                for p in pods(conn, "gemma-26b")
                if (p["status"].get("containerStatuses") or [{}])[0].get("restartCount")
            ),
            None,
        ),
        what="the pod to crash",
    )
    status = crashed["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert "storage.objects.list" in status["lastState"]["terminated"]["message"]
    assert crashed["spec"]["serviceAccountName"] == "default"
    assert "BackOff" in [e["reason"] for e in events(conn, crashed["metadata"]["name"])]
    # The first template's pod still serves (a rolling update keeps it until the new one
    # is available), so the Deployment stays Available; the rollout never completes.
    deployment = read_deployment(conn)
    assert condition(deployment, "Progressing")["reason"] != "NewReplicaSetAvailable"
    assert not kube_rollout.is_available(deployment)


def test_hangars_plans_never_run_the_pod_as_default():
    """Every gke-vllm plan variant: the Deployment names the Kubernetes account the plan
    applies, annotated with the Google account the plan binds through Workload Identity."""
    from deployments.choices import Phase
    from tests.plan_variants import plan_of, plan_variants

    variants = [(v, spec) for v, spec in plan_variants() if v.startswith("gke-vllm#")]
    assert variants
    for variant, spec in variants:
        steps = plan_of(variant, spec, Phase.DEPLOY).steps
        applied = {
            (s.request.body["kind"], s.request.body["metadata"]["name"]): s.request.body
            for s in steps
            if s.action == "kube.apply"
        }
        bound = {
            s.params["email"]: s.params["member"]
            for s in steps
            if s.action == "iam.grant_service_account_role"
        }
        deployments = [o for (kind, _), o in applied.items() if kind == "Deployment"]
        assert deployments, variant
        for deployment in deployments:
            pod = deployment["spec"]["template"]["spec"]
            ksa = applied[("ServiceAccount", pod.get("serviceAccountName", "default"))]
            gsa = ksa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
            namespace = deployment["metadata"]["namespace"]
            assert bound[gsa].endswith(f"[{namespace}/{ksa['metadata']['name']}]"), variant


def test_the_seeds_deployment_fails_hangars_wait_with_the_storage_error(sandbox, conn, wait_step):
    """What a person would see had Hangar applied the seed's Deployment: the wait fails fast
    on the crash loop and names the storage permission the default account lacks."""
    from runbook.results import Failed

    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    s = server(universe=UNIVERSE)
    s = server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa))
    apply_all(conn, s)
    seed_like = manifests.deployment(s)
    del seed_like["spec"]["template"]["spec"]["serviceAccountName"]
    kube.apply(conn, seed_like)
    failed = wait_for(lambda: isinstance(r := run_wait(wait_step), Failed) and r, what="failure")
    assert "crash-loops" in failed.error
    assert "storage.objects.list" in failed.error


def test_without_the_workload_identity_binding_the_token_is_refused(sandbox, conn):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    s = server(universe=UNIVERSE)
    email = google_side(s.bucket, s.ksa, bind=False)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=email))
    crashed = wait_for(
        lambda: next(
            (
                p
                for p in pods(conn, "gemma-26b")
                if (p["status"].get("containerStatuses") or [{}])[0].get("restartCount")
            ),
            None,
        ),
        what="the pod to crash",
    )
    message = crashed["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"]
    assert "iam.serviceAccounts.getAccessToken" in message


def test_a_pod_that_fits_no_node_stays_pending(sandbox, conn):
    s = server(universe=UNIVERSE, gpus=2, node_gpus=1, machine_type="a3-highgpu-1g")
    apply_all(conn, s)
    (pod,) = pods(conn, "gemma-26b")
    scheduling = wait_for(
        lambda: [
            e for e in events(conn, pod["metadata"]["name"]) if e["reason"] == "FailedScheduling"
        ],
        what="FailedScheduling",
    )
    assert scheduling[0]["type"] == "Warning"
    # No node could fit it: the autoscaler says what a new node would lack.
    (no_scale_up,) = [
        e for e in events(conn, pod["metadata"]["name"]) if e["reason"] == "NotTriggerScaleUp"
    ]
    assert "1 Insufficient nvidia.com/gpu" in no_scale_up["message"]
    assert pods(conn, "gemma-26b")[0]["status"]["phase"] == "Pending"


def test_past_the_team_quota_no_pod_is_created(sandbox, conn):
    apply_all(conn, server(universe=UNIVERSE), quota=0)
    assert pods(conn, "gemma-26b") == []
    deployment = read_deployment(conn)
    failure = condition(deployment, "ReplicaFailure")
    assert "exceeded quota: hangar-gpus" in failure["message"]
    # The ReplicaSet's event, as the ReplicaSet controller reports it.
    (rs,) = kube.list_objects(conn, "apps/v1", "ReplicaSet", NS)
    assert rs["metadata"]["ownerReferences"][0]["name"] == "gemma-26b"
    failed = wait_for(lambda: events(conn, rs["metadata"]["name"]), what="FailedCreate")
    assert failed[0]["reason"] == "FailedCreate"


def test_progress_deadline_exceeded(sandbox, conn):
    s = server(universe=UNIVERSE, gpus=2, node_gpus=1, machine_type="a3-highgpu-1g")
    apply_all(conn, s)
    stuck = manifests.deployment(s)
    stuck["spec"]["progressDeadlineSeconds"] = 1
    kube.apply(conn, stuck)
    timed_out = wait_for(
        lambda: (
            condition(read_deployment(conn), "Progressing")["reason"] == "ProgressDeadlineExceeded"
        ),
        what="the deadline",
    )
    assert timed_out


# -- the wait step, as the runner calls it -------------------------------------------


@pytest.fixture
def wait_step(conn):
    from clusters.models import Cluster
    from deployments.targets.kube_steps import wait_available_step

    cluster = Cluster.objects.create(
        project=PROJECT,
        location="us-central1",
        name="kube",
        status="ready",
        endpoint=conn.endpoint,
        ca_certificate=conn.ca_certificate,
    )
    return wait_available_step(
        cluster=cluster.pk, namespace=NS, name="gemma-26b", selector={"app": "gemma-26b"}
    )


def run_wait(step, operation=""):
    from runbook.executors import EXECUTORS
    from tests.gcp.test_kube import _claim

    return EXECUTORS["kube.wait_available"](_claim(step, operation))


def test_wait_step_succeeds_once_available(sandbox, conn, wait_step):
    from runbook.results import Succeeded, Waiting

    sandbox.config(operation_delay=0.5, model_load_delay=3)
    s = server(universe=UNIVERSE)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa)))
    first = run_wait(wait_step)  # the weights take the model-load delay to read
    assert isinstance(first, Waiting)
    result = wait_for(lambda: isinstance(r := run_wait(wait_step), Succeeded) and r, what="ok")
    assert "Available" in result.message


def test_wait_step_shows_why_it_waits_then_fails_on_the_deadline(sandbox, conn, wait_step):
    from runbook.results import Failed, Waiting

    sandbox.config(operation_delay=60)  # GKE still making the pod's node
    s = server(universe=UNIVERSE)
    apply_all(conn, s)
    waiting = wait_for(
        lambda: (
            isinstance(r := run_wait(wait_step), Waiting) and "TriggeredScaleUp" in r.message and r
        ),
        what="the scale-up news",
    )
    assert "pod triggered scale-up" in waiting.message
    stuck = manifests.deployment(s)
    stuck["spec"]["progressDeadlineSeconds"] = 1
    kube.apply(conn, stuck)
    failed = wait_for(lambda: isinstance(r := run_wait(wait_step), Failed) and r, what="failure")
    assert "timed out progressing" in failed.error


def test_wait_step_fails_at_once_when_no_node_can_be_made_for_the_pod(sandbox, conn, wait_step):
    from runbook.results import Failed

    s = server(universe=UNIVERSE, gpus=2, node_gpus=1, machine_type="a3-highgpu-1g")
    apply_all(conn, s)
    failed = wait_for(lambda: isinstance(r := run_wait(wait_step), Failed) and r, what="failure")
    assert "No node pool can grow to fit the pod" in failed.error
    assert "Insufficient nvidia.com/gpu" in failed.error


def test_wait_step_fails_fast_on_a_crash_loop(sandbox, conn, wait_step):
    from runbook.results import Failed

    sandbox.config(operation_delay=0.2, model_load_delay=0.2)
    s = server(universe=UNIVERSE)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa, bind=False)))
    # Each restart is a new read of the bucket, as the kubelet restarts the container.
    failed = wait_for(lambda: isinstance(r := run_wait(wait_step), Failed) and r, what="failure")
    assert "crash-loops" in failed.error
    assert "getAccessToken" in failed.error


# -- the service proxy: no load balancer, the API server in between ---------------------


def test_chat_through_the_api_servers_service_proxy(sandbox, conn):
    import json

    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    s = server(universe=UNIVERSE)
    apply_all(conn, server(universe=UNIVERSE, gsa_email=google_side(s.bucket, s.ksa)))
    health = kube.proxy_path(NS, "gemma-26b", 8080, "/health")
    first = kube.proxy(conn, "GET", health)
    if first.status == 503:  # not ready yet: the API server has no endpoint to send it to
        assert b"no endpoints available" in first.data
    wait_for(lambda: kube.proxy(conn, "GET", health).status == 200, what="the model to be ready")
    chat = kube.proxy_path(NS, "gemma-26b", 8080, "/v1/chat/completions")
    body = {
        "model": "google/gemma-4-26B-A4B-it",
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    reply = kube.proxy(conn, "POST", chat, body)
    assert reply.status == 200
    assert json.loads(reply.data)["choices"][0]["message"]["content"]

    streamed = kube.proxy(conn, "POST", chat, {**body, "stream": True})
    assert streamed.status == 200
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    chunks = b"".join(streamed.stream(64))
    assert chunks.rstrip().endswith(b"data: [DONE]")

    unknown = kube.proxy(conn, "POST", chat, {**body, "model": "gemma"})
    assert unknown.status == 404


def test_the_proxy_wants_google_credentials(sandbox, conn, tmp_path):
    import requests

    ca = tmp_path / "ca.pem"
    ca.write_text(kube.configuration(conn).ca_cert_data)
    url = f"https://{conn.endpoint}" + kube.proxy_path(NS, "gemma-26b", 8080, "/health")
    assert requests.get(url, verify=str(ca), timeout=10).status_code == 401
