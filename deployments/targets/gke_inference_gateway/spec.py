"""What a GKE Inference Gateway deployment asks for (seed 004), and whether it can run.

Each field is declared once, with the seed's values as defaults; the form, the API and the
plan read this class. Not asked: the region and the cluster's resource name (the cluster's,
set when the request is bound to its team: bind_standard_cluster), the team's GPU ceiling
(its quota), the GPU (the machine's H100), the GPUs per vLLM pod (one: a replica per GPU of
the pool).

The Gateway is regional internal (`gke-l7-rilb`). An external one is not something a
request can ask for: `external_gateway` is no declared field, so neither the form nor the
API sets it; the TargetDef lists it in `approver_allowances`, and a platform admin allows
it when approving (services/decisions.py).
"""

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from deployments.hf_catalog import HF_MODELS
from deployments.targets.fields import FieldErrors, Widget, choice_field, int_field
from deployments.targets.gke import fields as gke
from deployments.targets.gke.binding import bind_cluster, region_of
from deployments.targets.gke.machines import H100, OnGpuMachine
from deployments.targets.gke_inference_gateway import adapters as lora
from deployments.targets.gke_inference_gateway import seed
from deployments.targets.gke_inference_gateway.manifests import Adapter
from deployments.targets.hf_weights import HfWeights
from deployments.targets.offer import Offer
from deployments.targets.spec import SpecBase

# Seed 004 serves Llama 3.1 8B Instruct; its adapters are trained for it.
SEED_MODELS = ("llama-3.1-8b-instruct",)
# A pool this large is a capacity plan to make with Google, not a form to fill in: Hangar's
# bound (GKE allows up to 1,000 nodes per pool and zone, far past any H100 quota).
MAX_NODES = 4
# vLLM has no upper bound of its own on these; each adapter on the GPU takes memory beside
# the weights and each one at hand takes host memory: Hangar's bounds, twice the seed's.
MAX_LORAS = 8
MAX_CPU_LORAS = 32


class Provisioning:
    """How the pool's nodes are bought. A3 High 1g/2g may be sold only as Spot or
    Flex-start (reference/pricing.md); both are offered, as the issue asks."""

    SPOT = "spot"
    FLEX_START = "flex-start"
    ON_DEMAND = "on-demand"
    CHOICES = (
        (SPOT, "Spot: cheapest, Google may reclaim the nodes"),
        (FLEX_START, "Flex-start: queued until GPUs are free, then kept up to 7 days"),
        (ON_DEMAND, "On demand: list price, if the region sells the machine so"),
    )


class StarterAdapters:
    SEED = "seed"
    NONE = "none"
    CHOICES = (
        (SEED, "Seed 004's two: food-review and cad-fabricator"),
        (NONE, "None: the base model only (adapters can be requested once it is ready)"),
    )


def _model_choices() -> list[tuple[str, str]]:
    return [
        (m.key, f"{m.label} ({m.hf_id}, {m.weights_gib} GiB{', gated' if m.gated else ''})")
        for m in (HF_MODELS[key] for key in SEED_MODELS)
    ]


@dataclass(frozen=True, kw_only=True)
class GkeInferenceGatewaySpec(HfWeights, OnGpuMachine, SpecBase):
    """Seed 004's node pool, vLLM LoRA settings and objectives; defaults are the seed's."""

    RULES_NEED: ClassVar[tuple[str, ...]] = ("model", "machine_type")
    QUOTA_FIELD: ClassVar[str] = "nodes"

    cluster: int | None = gke.cluster()
    model: str = choice_field(
        "llama-3.1-8b-instruct",
        label="Base model",
        help="Seed 004's Llama 3.1 8B Instruct (gated: the team's Hugging Face token is read "
        "from Secret Manager into a Kubernetes Secret at rollout).",
        choices=_model_choices,
        choice_error="Unknown model; seed 004 serves Llama 3.1 8B Instruct.",
    )
    machine_type: str = gke.machine_type(
        "a3-highgpu-2g",
        label="GPU node machine",
        help="the machine of the deployment's GPU node pool. One vLLM pod runs on each of its "
        "GPUs; Google bills every node whole.",
        cli="gcloud container node-pools create --machine-type",
    )
    nodes: int = int_field(
        1,
        label="GPU nodes",
        help="nodes in the pool (in its one zone): the seed's --num-nodes=1.",
        cli="--num-nodes",
        minimum=1,
        maximum=MAX_NODES,
        maximum_reason="Hangar's bound: a larger H100 pool is a capacity plan with Google",
    )
    provisioning: str = choice_field(
        Provisioning.SPOT,
        label="Nodes bought as",
        help="Spot (--spot) or Flex-start (--flex-start) nodes cost less than the on-demand "
        "list price; A3 High machines may be sold only so.",
        cli="--spot / --flex-start",
        choices=lambda: Provisioning.CHOICES,
        choice_error="Choose spot, flex-start or on-demand.",
        widget=Widget.RADIO,
    )
    starter_adapters: str = choice_field(
        StarterAdapters.SEED,
        label="Adapters at start",
        help="LoRA adapters the lora-syncer loads when the server starts.",
        cli="ConfigMap ensureExist",
        choices=lambda: StarterAdapters.CHOICES,
        choice_error="Choose seed or none.",
        widget=Widget.RADIO,
    )
    max_loras: int = int_field(
        2,
        label="Adapters on the GPU at once",
        help="the seed's 2. Each takes GPU memory beside the weights.",
        cli="--max-loras",
        minimum=1,
        maximum=MAX_LORAS,
        maximum_reason="Hangar's bound: each adapter on the GPU takes memory from the KV cache",
    )
    max_cpu_loras: int = int_field(
        12,
        label="Adapters at hand",
        help="adapters vLLM keeps in host memory, ready to swap in (the seed's 12); at least "
        "--max-loras. The most a server can be asked to load.",
        cli="--max-cpu-loras",
        minimum=1,
        maximum=MAX_CPU_LORAS,
        maximum_reason="Hangar's bound: each adapter at hand takes host memory",
    )
    max_lora_rank: int = int_field(
        16,
        label="Largest adapter rank",
        help=f"one of vLLM's ranks ({', '.join(map(str, lora.VLLM_MAX_LORA_RANKS))}); an "
        "adapter of a larger rank cannot be loaded.",
        cli="--max-lora-rank",
        minimum=min(lora.VLLM_MAX_LORA_RANKS),
        maximum=max(lora.VLLM_MAX_LORA_RANKS),
        maximum_reason="vLLM's largest --max-lora-rank",
    )
    base_priority: int = int_field(
        seed.SEED_BASE_PRIORITY,
        label="Base model priority",
        help="the InferenceObjective's priority for requests to the base model (the seed's "
        "20); under load the Gateway sheds lower priorities first.",
        cli="InferenceObjective spec.priority",
        minimum=-lora.PRIORITY_BOUND,
        maximum=lora.PRIORITY_BOUND,
        maximum_reason="Hangar's bound; the CRD takes any int32",
    )
    # Set when the request is bound to its team (bind_standard_cluster), never by a client.
    region: str = ""
    cluster_name: str = ""  # projects/P/locations/L/clusters/NAME
    team_gpus: int = 0
    # Not asked: set by the approval (see the module's docstring).
    external_gateway: bool = False
    # Adapters loaded later by adapter requests (gke_inference_gateway_adapter/), set only
    # on the copy of this spec an adapter's plan renders the syncer's list from.
    extra_adapters: tuple[Adapter, ...] = ()
    # Adapters being taken away (their rows tear down): the syncer's ensureNotExist. Both
    # lists come from the live adapter rows each time a plan is made (with_live), never
    # from a copy a row kept.
    removed_adapters: tuple[Adapter, ...] = ()
    gpu_type: str = H100
    gpu_count: int = 1  # GPUs per vLLM pod: one replica per GPU of the pool

    @property
    def accelerator(self) -> str:
        return self.machine.accelerator

    @property
    def gpus_per_node(self) -> int:
        return self.machine.gpus

    @property
    def spot(self) -> bool:
        return self.provisioning == Provisioning.SPOT

    @property
    def flex_start(self) -> bool:
        return self.provisioning == Provisioning.FLEX_START

    @property
    def starters(self) -> tuple[Adapter, ...]:
        """The adapters the server starts with: this deployment's own (their objectives
        too); the adapter rows' own are theirs."""
        return seed.SEED_ADAPTERS if self.starter_adapters == StarterAdapters.SEED else ()

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        return (*self.starters, *self.extra_adapters)

    @property
    def location(self) -> str:
        """The cluster's location; before a cluster is chosen (an estimate), the region,
        else the seed's regional cluster in us-central1."""
        if self.cluster_name:
            return self.cluster_name.split("/")[3]
        return self.region or "us-central1"

    @property
    def zonal(self) -> bool:
        return region_of(self.location) != self.location

    @property
    def zones(self) -> tuple[str, ...]:
        """Where the GPU nodes go: a zonal cluster's zone, else the seed's
        `--node-locations=REGION-a`."""
        return (self.location if self.zonal else f"{self.location}-a",)

    @property
    def replicas(self) -> int:
        """One vLLM pod per GPU of the pool (each pod serves on one GPU)."""
        return self.nodes * self.gpus_per_node * len(self.zones)

    @property
    def served_models(self) -> tuple[str, ...]:
        """What a client may put in `model`: the base model's id, then each adapter's name."""
        return (self.hf_model.hf_id, *(a.name for a in self.adapters))

    @property
    def gpus_held(self) -> int:
        """Every GPU of the pool's nodes: Google bills, and quotas count, the whole node."""
        return self.machine.gpus * self.nodes * len(self.zones)

    def rule_errors(self) -> FieldErrors:
        errors = lora.server_errors(self.max_loras, self.max_cpu_loras, self.max_lora_rank)
        if len(self.adapters) > self.max_cpu_loras:
            errors.setdefault("max_cpu_loras", []).append(
                f"The server starts with {len(self.adapters)} adapters; keep at least that "
                "many at hand."
            )
        return errors


def bind_standard_cluster(spec: Any, offer: Offer) -> tuple[Any, FieldErrors]:
    """The team's cluster, as gke/binding.py checks it, and a Standard one: the Inference
    Gateway's GPU node pool is a Standard cluster's (Autopilot makes its own nodes). Sets
    the cluster's resource name, which the node pool steps address."""
    cluster = offer.cluster(spec.cluster) if spec.cluster else None
    if cluster is not None and cluster.autopilot:
        return spec, {
            "cluster": [
                f"Cluster {cluster.name} is Autopilot; the Inference Gateway target adds a GPU "
                "node pool, which needs a Standard cluster. Choose a Standard one, or ask a "
                "platform admin to create one (Clusters, in the admin)."
            ]
        }
    bound, errors = bind_cluster(spec, offer)
    if errors or cluster is None:
        return bound, errors
    return replace(bound, cluster_name=cluster.resource_name), {}
