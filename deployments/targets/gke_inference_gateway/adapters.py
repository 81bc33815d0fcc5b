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

The ConfigMap is the base deployment's (its name and labels), and several rows contribute
to it: its lists are rebuilt from the live adapter rows of the base each time a plan is
made (live_adapters: approved, deploying and ready ones are loaded, those tearing down
unloaded), so an adapter's tear down never drops another one loaded since; an adapter
only updates the ConfigMap while it is there and never makes it again once its base has
removed it. Each adapter's objective is its own (its name and labels).
"""

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from deployments.choices import Phase, Status
from deployments.targets import kube_steps
from deployments.targets.gke_inference_gateway import gateway as gw
from deployments.targets.gke_inference_gateway import manifests
from deployments.targets.gke_inference_gateway.manifests import Adapter
from deployments.targets.offer import OfferedDeployment
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
ADAPTER_TARGET = "gke-inference-gateway-adapter"
# An adapter row in these states is in the syncer's ensureExist list; tearing down, in its
# ensureNotExist list; in any other (failed, pending approval) in neither.
LOADED = frozenset({Status.APPROVED, Status.DEPLOYING, Status.READY})
UNLOADING = frozenset({Status.TEARING_DOWN})

FieldErrors = dict[str, list[str]]


@dataclass(frozen=True)
class AdapterAsk:
    """What a team asks for: a name to serve it under, the repo, its rank and base model."""

    name: str
    source: str
    rank: int
    base_model: str
    priority: int = 10


@dataclass(frozen=True)
class LiveAdapters:
    """The adapters the live rows of one base call for: to load, and to unload."""

    loaded: tuple[Adapter, ...] = ()
    removed: tuple[Adapter, ...] = ()
    # Requested, not approved yet: in no list, but their names are taken.
    pending: tuple[Adapter, ...] = ()


def live_adapters(
    base: int, around: tuple[OfferedDeployment, ...], *, besides: int | None = None
) -> LiveAdapters:
    """What the live adapter rows on deployment `base` call for (oldest first), leaving
    out `besides` (the adapter whose own plan is being made)."""
    loaded, removed, pending = [], [], []
    for row in sorted(around, key=lambda d: d.id):
        if row.depends_on != base or row.target != ADAPTER_TARGET or row.id == besides:
            continue
        adapter = Adapter(row.spec.name, row.spec.source, row.spec.priority)
        if row.status in LOADED:
            loaded.append(adapter)
        elif row.status in UNLOADING:
            removed.append(adapter)
        elif row.status == Status.PENDING_APPROVAL:
            pending.append(adapter)
    return LiveAdapters(tuple(loaded), tuple(removed), tuple(pending))


def with_live_adapters(
    spec: "GkeInferenceGatewaySpec", ref: DeploymentRef, around: tuple[OfferedDeployment, ...]
) -> "GkeInferenceGatewaySpec":
    """A base deployment's spec with the adapters its live adapter rows call for: its own
    plans (a retried deploy, a tear down) render the syncer's list from them too."""
    live = live_adapters(ref.id, around)
    return replace(spec, extra_adapters=live.loaded, removed_adapters=live.removed)


def name_clash(name: str, spec: "GkeInferenceGatewaySpec") -> str | None:
    """The name the server already answers to (or is unloading) that `name` collides with:
    the same served name, or the same InferenceObjective name (the base model's
    `meta-llama/Llama-3.1-8B-Instruct` is `meta-llama-llama-3-1-8b-instruct` there)."""
    taken = [spec.hf_model.hf_id, *(a.name for a in (*spec.adapters, *spec.removed_adapters))]
    wanted = gw.objective_name(name)
    return next((t for t in taken if t == name or gw.objective_name(t) == wanted), None)


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
    clash = name_clash(ask.name, spec)
    if not ADAPTER_NAME.fullmatch(ask.name):
        errors["name"] = ["Lowercase letters, digits and '-', at most 63 (a Kubernetes name)."]
    elif clash == ask.name:
        errors["name"] = [f"The server already answers to {ask.name}."]
    elif clash:
        errors["name"] = [
            f"{ask.name} would be the same model name and InferenceObjective as {clash}, "
            "which the server already serves: choose another name."
        ]
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
    ref: DeploymentRef,
    spec: "GkeInferenceGatewaySpec",
    ask: AdapterAsk,
    phase: Phase,
    owner: DeploymentRef,
) -> DeploymentPlan:
    """`ref` and `spec` are the base's (with the other live adapters), `owner` the
    adapter's own deployment: the ConfigMap stays the base's, the objective is its own."""
    from deployments.targets.gke_inference_gateway.plan import (
        TARGET,
        _cluster_id,
        _gateway,
        _server,
    )
    from deployments.targets.gke_inference_gateway.plan import owner_labels as labels_of

    adapter = Adapter(ask.name, ask.source, ask.priority)
    loading = phase == Phase.DEPLOY
    others = tuple(a for a in spec.adapters if a.name != ask.name)
    unloading = tuple(a for a in spec.removed_adapters if a.name != ask.name)
    server = replace(
        _server(ref, spec),
        adapters=(*others, adapter) if loading else others,
        removed=unloading if loading else (*unloading, adapter),
    )
    objective = gw.objective(
        _gateway(ref, spec), gw.Objective(ask.name, ask.priority), labels=labels_of(owner)
    )
    config = kube_steps.apply_step(
        key="apply_adapters",
        title=f"{'Load' if loading else 'Unload'} {ask.name} ({ask.source}): the syncer's list",
        cluster=_cluster_id(spec),
        manifest=manifests.adapters_config(server),
        create=False,
        # Unloading from a base already gone: nothing left to unload from.
        missing_ok=not loading,
    )
    build = kube_steps.apply_step if loading else kube_steps.delete_step
    priority = build(
        key=f"{'apply' if loading else 'delete'}_objective",
        title=f"{ask.name}'s InferenceObjective (priority {ask.priority})",
        cluster=_cluster_id(spec),
        manifest=objective,
    )
    return DeploymentPlan(TARGET, phase, owner, (config, priority))


def adapter_deploy_plan(
    ref: DeploymentRef,
    spec: "GkeInferenceGatewaySpec",
    ask: AdapterAsk,
    ctx: PlanContext,
    *,
    owner: DeploymentRef | None = None,
) -> DeploymentPlan:
    """Load the adapter: the syncer's list with it, then its objective."""
    return _plan(ref, spec, ask, Phase.DEPLOY, owner or ref)


def adapter_teardown_plan(
    ref: DeploymentRef,
    spec: "GkeInferenceGatewaySpec",
    ask: AdapterAsk,
    ctx: PlanContext,
    *,
    owner: DeploymentRef | None = None,
) -> DeploymentPlan:
    """Unload it (ensureNotExist) and delete its objective; the base deployment stays."""
    return _plan(ref, spec, ask, Phase.TEARDOWN, owner or ref)
