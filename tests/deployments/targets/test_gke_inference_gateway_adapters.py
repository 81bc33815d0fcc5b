"""A LoRA adapter on the seed's base deployment: refused on the field when it does not
fit the server (rank, base model, name, room), and its plans as data."""

import json
import os

import pytest
import yaml

from deployments.choices import Phase
from deployments.targets.gke_inference_gateway.adapters import (
    AdapterAsk,
    adapter_deploy_plan,
    adapter_errors,
    adapter_teardown_plan,
    server_errors,
)
from deployments.targets.plan import DeploymentRef
from tests.deployments.targets.test_gke_inference_gateway_plan import CTX, REF, SEED, SNAPSHOTS

BASE = "meta-llama/Llama-3.1-8B-Instruct"
SQL = AdapterAsk("sql-expert", "someone/llama3.1-sql-r8", rank=8, base_model=BASE, priority=5)


def test_a_fitting_adapter_has_no_errors():
    assert adapter_errors(SQL, SEED) == {}


@pytest.mark.parametrize(
    ("ask", "field", "says"),
    [
        (AdapterAsk("sql-expert", "a/b", 32, BASE), "rank", "rank up to 16 (--max-lora-rank)"),
        (
            AdapterAsk("sql-expert", "a/b", 8, "google/gemma-3-1b-it"),
            "base_model",
            "trained for google/gemma-3-1b-it",
        ),
        (AdapterAsk("food-review", "a/b", 8, BASE), "name", "already answers to food-review"),
        (AdapterAsk(BASE, "a/b", 8, BASE), "name", "Lowercase letters"),
        # The base model's objective name: the same InferenceObjective, refused.
        (
            AdapterAsk("meta-llama-llama-3-1-8b-instruct", "a/b", 8, BASE),
            "name",
            "same model name and InferenceObjective as meta-llama/Llama-3.1-8B-Instruct",
        ),
        (AdapterAsk("sql", "not a repo", 8, BASE), "source", "owner/name"),
        (AdapterAsk("sql", "a/b", 0, BASE), "rank", "rank up to 16"),
        (AdapterAsk("sql", "a/b", 8, BASE, priority=10**9), "priority", "Between"),
    ],
)
def test_what_does_not_fit_is_refused_on_the_field(ask, field, says):
    errors = adapter_errors(ask, SEED)
    assert says in " ".join(errors[field])


def test_a_full_server_takes_no_more():
    from dataclasses import replace

    full = replace(SEED, max_cpu_loras=2)  # the seed's two adapters fill it
    assert "at most 2 adapters" in " ".join(adapter_errors(SQL, full)["name"])


def test_server_settings_vllm_refuses():
    assert server_errors(2, 12, 16) == {}
    assert "vLLM takes one of 8, 16, 32" in server_errors(2, 12, 24)["max_lora_rank"][0]
    assert "At least --max-loras (4)" in server_errors(4, 2, 16)["max_cpu_loras"][0]


def _syncer_lists(plan) -> dict:
    body = plan.step("apply_adapters").request.body
    return yaml.safe_load(body["data"]["configmap.yaml"])["vLLMLoRAConfig"]


def test_loading_adds_to_the_syncers_list_and_its_objective():
    plan = adapter_deploy_plan(REF, SEED, SQL, CTX)
    assert plan.phase == Phase.DEPLOY
    lists = _syncer_lists(plan)
    assert [m["id"] for m in lists["ensureExist"]["models"]] == [
        "food-review",
        "cad-fabricator",
        "sql-expert",
    ]
    objective = plan.step("apply_objective").request.body
    assert objective["apiVersion"] == "inference.networking.x-k8s.io/v1alpha2"
    assert objective["metadata"]["name"] == "llama-lora-647c65-sql-expert"
    assert objective["spec"]["priority"] == 5


def test_removing_unloads_and_deletes_its_objective():
    food = AdapterAsk("food-review", "Kawon/llama3.1-food-finetune_v14_r8", 8, BASE)
    plan = adapter_teardown_plan(REF, SEED, food, CTX)
    lists = _syncer_lists(plan)
    assert [m["id"] for m in lists["ensureExist"]["models"]] == ["cad-fabricator"]
    assert [m["id"] for m in lists["ensureNotExist"]["models"]] == ["food-review"]
    delete = plan.step("delete_objective")
    assert delete.action == "kube.delete"
    assert delete.request.path.endswith("/inferenceobjectives/llama-lora-647c65-food-review")


@pytest.mark.parametrize("phase", ["deploy", "teardown"])
def test_adapter_plan_matches_snapshot(phase):
    build = adapter_deploy_plan if phase == "deploy" else adapter_teardown_plan
    # The ConfigMap stays the base's (REF); the objective is the adapter row's own.
    owner = DeploymentRef(id=12, slug="sql-lora", team_slug="ml", attempt=1)
    plan = build(REF, SEED, SQL, CTX, owner=owner)
    current = json.dumps(plan.as_dict(), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"gke_inference_gateway_adapter_{phase}.json"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(current)
    assert path.exists(), f"No snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 once."
    assert current == path.read_text()
