"""A LoRA adapter on a ready base deployment (issue 14, item 6): whether it fits the
server, and the plans that load it and take it away. Not wired to requests yet: the
request, approval and audit go through the same services as a deployment once the
target is registered; these are the pure parts.

What fits (vLLM's LoRA settings, vllm/config/lora.py): an adapter whose rank is at most
the server's `--max-lora-rank` (which must be one of vLLM's ranks), trained for the base
model the server serves, under a name the server does not already answer to. The server
keeps at most `--max-cpu-loras` adapters at hand (`--max-loras` of them on the GPU at
once; max_cpu_loras must be at least max_loras).

Loading is the lora-syncer's: the adapters' ConfigMap is applied with the new one in
`ensureExist`, and its InferenceObjective with the priority asked for. Removing moves it
to `ensureNotExist` (the syncer unloads it) and deletes its objective.
"""

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from deployments.choices import Phase
from deployments.targets import kube_steps
from deployments.targets.gke_inference_gateway import gateway as gw
from deployments.targets.gke_inference_gateway import manifests
from deployments.targets.gke_inference_gateway.manifests import Adapter
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext

if TYPE_CHECKING:
    from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec

# The ranks vLLM accepts for --max-lora-rank (LoRAConfig's possible_max_ranks).
VLLM_MAX_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
# A Hugging Face repo id: owner/name, each up to 96 of letters, digits, '-', '_', '.'.
HF_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
# The served name is also the InferenceObjective's name: a DNS label keeps both valid.
ADAPTER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
PRIORITY_BOUND = 1000  # Hangar's bound; the CRD takes any int32

FieldErrors = dict[str, list[str]]


@dataclass(frozen=True)
class AdapterAsk:
    """What a team asks for: a name to serve it under, the repo, its rank and base model."""

    name: str
    source: str
    rank: int
    base_model: str
    priority: int = 10


def server_errors(max_loras: int, max_cpu_loras: int, max_lora_rank: int) -> FieldErrors:
    """What vLLM refuses at start in the base deployment's LoRA settings."""
    errors: FieldErrors = {}
    if max_lora_rank not in VLLM_MAX_LORA_RANKS:
        errors["max_lora_rank"] = [f"vLLM takes one of {', '.join(map(str, VLLM_MAX_LORA_RANKS))}."]
    if max_cpu_loras < max_loras:
        errors["max_cpu_loras"] = [f"At least --max-loras ({max_loras}): vLLM refuses fewer."]
    return errors


def adapter_errors(ask: AdapterAsk, spec: "GkeInferenceGatewaySpec") -> FieldErrors:
    """Why the server cannot take this adapter, by field; empty when it can."""
    errors: FieldErrors = {}
    taken = {spec.hf_model.hf_id, *(a.name for a in spec.adapters)}
    if not ADAPTER_NAME.fullmatch(ask.name):
        errors["name"] = ["Lowercase letters, digits and '-', at most 63 (a Kubernetes name)."]
    elif ask.name in taken:
        errors["name"] = [f"The server already answers to {ask.name}."]
    if not HF_REPO.fullmatch(ask.source):
        errors["source"] = ["A Hugging Face repo id: owner/name."]
    if not 1 <= ask.rank <= spec.max_lora_rank:
        errors["rank"] = [
            f"The server loads adapters of rank up to {spec.max_lora_rank} (--max-lora-rank); "
            "a new base deployment with a larger one would take it."
        ]
    if ask.base_model != spec.hf_model.hf_id:
        errors["base_model"] = [
            f"The server runs {spec.hf_model.hf_id}; this adapter was trained for {ask.base_model}."
        ]
    if len(spec.adapters) + 1 > spec.max_cpu_loras:
        full = (
            f"The server keeps at most {spec.max_cpu_loras} adapters (--max-cpu-loras); remove "
            "one first."
        )
        errors.setdefault("name", []).append(full)
    if not -PRIORITY_BOUND <= ask.priority <= PRIORITY_BOUND:
        errors["priority"] = [f"Between -{PRIORITY_BOUND} and {PRIORITY_BOUND}."]
    return errors


def _plan(
    ref: DeploymentRef, spec: "GkeInferenceGatewaySpec", ask: AdapterAsk, phase: Phase
) -> DeploymentPlan:
    from deployments.targets.gke_inference_gateway.plan import (
        TARGET,
        _cluster_id,
        _gateway,
        _server,
    )

    adapter = Adapter(ask.name, ask.source, ask.priority)
    loading = phase == Phase.DEPLOY
    others = tuple(a for a in spec.adapters if a.name != ask.name)
    server = replace(
        _server(ref, spec),
        adapters=(*others, adapter) if loading else others,
        removed=() if loading else (adapter,),
    )
    objective = gw.objective(_gateway(ref, spec), gw.Objective(ask.name, ask.priority))
    config = kube_steps.apply_step(
        key="apply_adapters",
        title=f"{'Load' if loading else 'Unload'} {ask.name} ({ask.source}): the syncer's list",
        cluster=_cluster_id(spec),
        manifest=manifests.adapters_config(server),
    )
    build = kube_steps.apply_step if loading else kube_steps.delete_step
    priority = build(
        key=f"{'apply' if loading else 'delete'}_objective",
        title=f"{ask.name}'s InferenceObjective (priority {ask.priority})",
        cluster=_cluster_id(spec),
        manifest=objective,
    )
    return DeploymentPlan(TARGET, phase, ref, (config, priority))


def adapter_deploy_plan(
    ref: DeploymentRef, spec: "GkeInferenceGatewaySpec", ask: AdapterAsk, ctx: PlanContext
) -> DeploymentPlan:
    """Load the adapter: the syncer's list with it, then its objective."""
    return _plan(ref, spec, ask, Phase.DEPLOY)


def adapter_teardown_plan(
    ref: DeploymentRef, spec: "GkeInferenceGatewaySpec", ask: AdapterAsk, ctx: PlanContext
) -> DeploymentPlan:
    """Unload it (ensureNotExist) and delete its objective; the base deployment stays."""
    return _plan(ref, spec, ask, Phase.TEARDOWN)
