"""gke-inference-gateway end to end (seed 004): a platform admin has Hangar create a
Standard cluster open to the team; the team, whose Hugging Face token is saved, requests
Llama 3.1 8B with seed 004's adapters over the API; an approval token approves it; a real
worker adds the GPU node pool, rolls out vLLM and the Inference Gateway against the
sandbox and chats through the Gateway; the playground lists the adapters and chats with the
base model and an adapter by name, through the sandbox standing in for the cluster's VPC;
the tear down leaves only the cluster, the CRDs and the team's namespace."""

import re
from decimal import Decimal

import pytest
import requests

from clusters.choices import ClusterStatus
from clusters.services import cluster_create
from deployments.choices import Status
from deployments.plans import plan_for
from deployments.targets.gke_vllm import identity
from gcp import container, kube
from portal.services_hf_token import hf_token_save
from runbook.ledger import runs_of
from runbook.models import Outcome
from tests.playground.conftest import read_events, sign_in
from tests.workers.helpers import wait_for_status
from tests.workers.test_rollout_cloud_run_vllm import HF_TOKEN, request_and_approve, tear_down
from tests.workers.test_rollout_clusters import wait_cluster

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def chat(http, url, deployment, model=""):
    body = {
        "deployment": deployment.pk,
        "model": model,
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    with http.post(url + "/playground/api/chat", json=body, stream=True, timeout=30) as response:
        assert response.status_code == 200
        return read_events(response)


def classified(sandbox, model):
    """The objective the sandbox's endpoint picker served each Gateway request for `model`
    under (the request log's), the model list's GETs when `model` is empty."""
    return [
        e["objective"]
        for e in sandbox.requests("^/v1/")
        if e["kind"] == "model" and ((e["body"] or {}).get("model") or "") == model
    ]


def objective_of(conn, ns, model):
    """The InferenceObjective applied for `model`: its name and priority."""
    found = kube.list_objects(
        conn, "inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", ns
    )
    suffix = "-" + "-".join(filter(None, re.split(r"[^a-z0-9]+", model.lower())))
    (objective,) = [o for o in found if o["metadata"]["name"].endswith(suffix)]
    name = objective["metadata"]["name"]
    return {"header": name, "name": name, "priority": objective["spec"].get("priority", 0)}


def served(http, portal_server, deployment):
    """What the playground's model picker offers for the deployment."""
    url = f"{portal_server.url}/playground/api/deployments/{deployment.pk}/models"
    listed = http.get(url, timeout=30).json()
    assert listed["problem"] is None, listed
    assert listed["default"] == LLAMA
    return listed["models"]


def test_standard_cluster_request_approve_chat_through_the_gateway_and_tear_down(
    api, team, team_admin, team_token, deployer, approver, sandbox, worker, portal_server
):
    sandbox.config(operation_delay=0.3, model_load_delay=0.3)
    sandbox.iam(proxy_only_subnets=["us-central1"])  # what an internal Gateway needs
    hf_token_save(team=team, token=HF_TOKEN, by=team_admin)
    cluster = cluster_create(
        project="hangar-sandbox",
        location="us-central1",
        name="llm-std",
        release_channel="RAPID",
        teams=[team],
        by=approver,
        autopilot=False,
    )
    cluster = wait_cluster(cluster, ClusterStatus.READY, ClusterStatus.FAILED)
    assert cluster.status == ClusterStatus.READY, cluster.failure_message

    deployment = request_and_approve(
        api,
        team_token,
        approver,
        "llama-lora",
        target="gke-inference-gateway",
        model="llama-3.1-8b-instruct",
        cluster=cluster.pk,
    )
    deployment = wait_for_status(deployment, Status.READY, Status.FAILED, timeout=90)
    assert deployment.status == Status.READY, (deployment.failure_step, deployment.failure_message)
    steps = {e.step: e for e in runs_of("deployment", deployment.pk).filter(phase="deploy")}
    assert list(steps) == [s.key for s in plan_for(deployment).steps]
    assert all(e.outcome == Outcome.SUCCEEDED for e in steps.values())
    # The address is the internal Gateway's, inside the VPC.
    address = deployment.outputs["gateway_address"]
    assert address.startswith("10.") and deployment.endpoint_url == f"http://{address}"
    # Its own pool, named for it (deployments/targets/gke/names.py).
    pool = plan_for(deployment).step("create_node_pool").params["name"]
    ns = identity.team_namespace(team.slug)
    conn = kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)
    assert container.node_pool_status(pool) == "RUNNING"

    # Priorities: the smoke test's probe (the model list) and its chat each carried the
    # base model's objective, which the endpoint picker served them under.
    base = objective_of(conn, ns, LLAMA)
    for model in ("", LLAMA):
        assert classified(sandbox, model) and all(c == base for c in classified(sandbox, model))
    sandbox.clear_requests()

    # The playground's picker lists what the Gateway serves: the base model, the adapters.
    http = sign_in(portal_server, deployer)
    seed_models = [LLAMA, "food-review", "cad-fabricator"]
    assert served(http, portal_server, deployment) == seed_models
    for model in ("", "food-review"):  # the base model by default, then an adapter by name
        events = chat(http, portal_server.url, deployment, model)
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-1] == "done", events[-3:]
        assert events[0][1]["model"] == (model or LLAMA)
        assert "".join(d.get("content", "") for n, d in events if n == "token").strip()

    # Each chat carried its model's objective: the base model's, then the adapter's.
    assert classified(sandbox, LLAMA) == [base]
    assert classified(sandbox, "food-review") == [objective_of(conn, ns, "food-review")]
    # So does a completion through the OpenAI passthrough.
    sandbox.clear_requests()
    completions = (
        f"{portal_server.url}/api/v1/deployments/{deployment.pk}/openai/v1/chat/completions"
    )
    answered = requests.post(
        completions,
        headers={"Authorization": f"Bearer {team_token}"},
        json={"model": "cad-fabricator", "messages": [{"role": "user", "content": "Hi"}]},
        timeout=30,
    )
    assert answered.status_code == 200, answered.text
    assert classified(sandbox, "cad-fabricator") == [objective_of(conn, ns, "cad-fabricator")]

    # The Gateway routes by name: a model the server has not loaded is vLLM's 404.
    refused = chat(http, portal_server.url, deployment, "sql-expert")
    assert refused[-1][0] == "error", refused[-3:]
    assert "404" in str(refused[-1][1]) or "does not exist" in str(refused[-1][1]), refused[-1]

    # Self-service: the team requests an adapter on the ready deployment; the same
    # approval and runner load it, and it is served by name at the base's Gateway.
    sandbox.clear_requests()
    adapter = request_and_approve(
        api,
        team_token,
        approver,
        "sql-lora",
        target="gke-inference-gateway-adapter",
        model="llama-3.1-8b-instruct",
        base=deployment.pk,
        name="sql-expert",
        source="someone/llama3.1-sql-lora-r8",
        rank=8,
        priority=5,
    )
    adapter = wait_for_status(adapter, Status.READY, Status.FAILED, timeout=60)
    assert adapter.status == Status.READY, (adapter.failure_step, adapter.failure_message)
    assert adapter.endpoint_url == deployment.endpoint_url
    # Its smoke test chatted under its own objective, at the priority asked for.
    sql = objective_of(conn, ns, "sql-expert")
    assert sql["priority"] == 5 and classified(sandbox, "sql-expert")
    assert all(c == sql for c in classified(sandbox, "sql-expert"))
    assert Decimal(adapter.estimate["hourly_max"]) == 0  # none of its own
    assert served(http, portal_server, deployment) == [*seed_models, "sql-expert"]
    passthrough = f"{portal_server.url}/api/v1/deployments/{deployment.pk}/openai/v1/models"
    listed = requests.get(
        passthrough, headers={"Authorization": f"Bearer {team_token}"}, timeout=30
    )
    assert [m["id"] for m in listed.json()["data"]] == [*seed_models, "sql-expert"]
    events = chat(http, portal_server.url, deployment, "sql-expert")
    assert events[-1][0] == "done", events[-3:]
    # Its own playground page talks to it by default.
    assert chat(http, portal_server.url, adapter)[0][1]["model"] == "sql-expert"
    # Removing it unloads it and deletes its objective; the base serves on.
    adapter = tear_down(api, approver, adapter)
    assert adapter.status == Status.TORN_DOWN, adapter.failure_message
    assert served(http, portal_server, deployment) == seed_models
    objectives = kube.list_objects(
        conn, "inference.networking.x-k8s.io/v1alpha2", "InferenceObjective", ns
    )
    assert not [o for o in objectives if o["metadata"]["name"].endswith("-sql-expert")]

    deployment = tear_down(api, approver, deployment)
    assert deployment.status == Status.TORN_DOWN, deployment.failure_message

    # Nothing Hangar made for the deployment is left: its objects, its Secret, its pool.
    for api_version, kind in [
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("inference.networking.k8s.io/v1", "InferencePool"),
        ("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective"),
        ("apps/v1", "Deployment"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Pod"),
    ]:
        assert kube.list_objects(conn, api_version, kind, ns) == [], kind
    assert container.node_pool_status(pool) is None
    # What other deployments may use stays: the cluster, the CRDs, the team's namespace.
    cluster.refresh_from_db()
    assert cluster.status == ClusterStatus.READY
    assert container.get_cluster(cluster.resource_name).status == "RUNNING"
    assert kube.read(conn, "v1", "Namespace", ns) is not None
    crd = "inferencepools.inference.networking.k8s.io"
    assert kube.read(conn, "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
