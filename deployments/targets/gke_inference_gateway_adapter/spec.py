"""A LoRA adapter on a ready gke-inference-gateway deployment (issue 14, item 6).

An adapter is a deployment row of its own, of this target: it goes through the same
request, estimate, approval, plan, runner and audit as any deployment, and its tear down
unloads it. It holds no GPUs and Google bills it nothing: it runs on its base deployment's
pool, whose estimate counts them.

At request time the adapter is bound to its base (bind_base): a ready gke-inference-gateway
deployment of the same team, found among the team's live deployments the request service
offers (targets/offer.py). The binding copies what the plan needs from the base (its
cluster, region and server settings) and checks the adapter fits the server beside the
adapters the base's live adapter rows load (adapters.adapter_errors: rank, base model, a
name that is neither the base model's nor another adapter's, as a model name or as an
InferenceObjective, room under --max-cpu-loras). Nothing of the other rows is kept: each
plan reads the base and its adapters from the live rows again (with_live_base), so the
syncer's list is always what the live rows call for.
"""

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from deployments.hf_catalog import HF_MODELS
from deployments.targets.fields import FieldErrors, choice_field, int_field, text_field
from deployments.targets.gke.fields import MAX_ID
from deployments.targets.gke.machines import H100
from deployments.targets.gke_inference_gateway import adapters as lora
from deployments.targets.gke_inference_gateway.manifests import Adapter
from deployments.targets.gke_inference_gateway.seed import SEED_ADAPTERS
from deployments.targets.gke_inference_gateway.spec import SEED_MODELS, GkeInferenceGatewaySpec
from deployments.targets.offer import Offer, OfferedDeployment
from deployments.targets.spec import SpecBase

BASE_TARGET = "gke-inference-gateway"
SEED = SEED_ADAPTERS[0]


def base_choices_for(offer: Offer) -> list[tuple[int, str]]:
    """The ready gke-inference-gateway deployments of the user's teams (the form's offer)."""
    return [
        (d.id, f"{d.slug} ({d.team}, {d.model})")
        for d in offer.deployments
        if d.target == BASE_TARGET and d.ready
    ]


def _model_choices() -> list[tuple[str, str]]:
    return [(key, f"{HF_MODELS[key].label} ({HF_MODELS[key].hf_id})") for key in SEED_MODELS]


@dataclass(frozen=True, kw_only=True)
class GatewayAdapterSpec(SpecBase):
    """One adapter: its name, its Hugging Face repo, its rank and priority; defaults are
    seed 004's first adapter."""

    RULES_NEED: ClassVar[tuple[str, ...]] = ("model",)
    QUOTA_FIELD: ClassVar[str] = "base"
    NAME_FROM_SLUG: ClassVar[str] = "name"  # the form's one Name is the served name too

    base: int | None = int_field(
        None,
        label="Base deployment",
        help="a ready GKE Inference Gateway deployment of the team: the server that loads "
        "the adapter. An estimate may leave it empty; a request may not.",
        cli="the deployment's id",
        minimum=1,
        maximum=MAX_ID,
        maximum_reason="no deployment has a larger id",
        optional=True,
        request_required=True,
        form_choices=base_choices_for,
    )
    model: str = choice_field(
        "llama-3.1-8b-instruct",
        label="Trained for",
        help="the base model the adapter was trained for; it must be the one the base "
        "deployment serves.",
        choices=_model_choices,
        choice_error="Unknown model; the Inference Gateway serves Llama 3.1 8B Instruct.",
    )
    name: str = text_field(
        SEED.name,
        label="Served name",
        help="what clients put in `model` to reach the adapter (also its InferenceObjective's "
        "name).",
        cli="ConfigMap ensureExist models[].id",
        minimum=1,
        maximum=63,
        maximum_reason="a Kubernetes name",
        pattern=lora.ADAPTER_NAME.pattern,
        pattern_error="Lowercase letters, digits and '-', starting and ending with a letter "
        "or digit (a Kubernetes name).",
    )
    source: str = text_field(
        SEED.source,
        label="Hugging Face repo",
        help="owner/name of the adapter's repo; a gated one is read with the team's token.",
        cli="ConfigMap ensureExist models[].source",
        minimum=3,
        maximum=193,
        maximum_reason="two Hugging Face names of 96 and a slash",
        pattern=lora.HF_REPO.pattern,
        pattern_error="A Hugging Face repo id: owner/name.",
    )
    rank: int = int_field(
        8,
        label="LoRA rank",
        help="the adapter's rank (its adapter_config.json `r`); at most the base server's "
        "--max-lora-rank.",
        cli="adapter_config.json r",
        minimum=1,
        maximum=max(lora.VLLM_MAX_LORA_RANKS),
        maximum_reason="vLLM's largest --max-lora-rank",
    )
    priority: int = int_field(
        SEED.priority,
        label="Priority",
        help="the adapter's InferenceObjective priority (the seed's 10): under load the "
        "Gateway sheds lower priorities first.",
        cli="InferenceObjective spec.priority",
        minimum=-lora.PRIORITY_BOUND,
        maximum=lora.PRIORITY_BOUND,
        maximum_reason="Hangar's bound; the CRD takes any int32",
    )
    # Set when the request is bound to its base (bind_base), never by a client.
    region: str = ""
    base_slug: str = ""
    base_values: dict[str, Any] = field(default_factory=dict)
    # What the base's other live adapter rows call for, read for each plan (with_live_base)
    # and never stored (spec_json).
    live_loaded: tuple[Adapter, ...] = ()
    live_removed: tuple[Adapter, ...] = ()
    gpu_type: str = H100
    gpu_count: int = 0

    @property
    def hf_model(self) -> Any:
        return HF_MODELS[self.model]

    @property
    def needs_hf_token(self) -> bool:
        return False  # the base's vLLM downloads it with the base's token

    @property
    def gpus_held(self) -> int:
        return 0  # the base deployment's pool holds them

    @property
    def ask(self) -> lora.AdapterAsk:
        return lora.AdapterAsk(
            self.name, self.source, self.rank, self.hf_model.hf_id, self.priority
        )

    def spec_json(self) -> dict[str, Any]:
        stored = super().spec_json()
        for live in ("live_loaded", "live_removed"):
            stored.pop(live, None)
        return stored

    def base_spec(self) -> GkeInferenceGatewaySpec:
        """The base deployment's spec, with the adapters its other live rows call for."""
        base = GkeInferenceGatewaySpec.from_values(self.base_values)
        return replace(base, extra_adapters=self.live_loaded, removed_adapters=self.live_removed)


def bind_base(spec: GatewayAdapterSpec, offer: Offer) -> tuple[GatewayAdapterSpec, FieldErrors]:
    if spec.base is None:
        return spec, {"base": ["Choose a ready GKE Inference Gateway deployment of the team."]}
    base = offer.deployment(spec.base, target=BASE_TARGET)
    if base is None:  # unknown, another team's, or gone: the same answer
        return spec, {"base": [f"No GKE Inference Gateway deployment {spec.base} in {offer.team}."]}
    if not base.ready:
        return spec, {"base": [f"{base.slug} is {base.status}, not ready."]}
    base_spec: GkeInferenceGatewaySpec = base.spec
    bound = replace(
        spec,
        region=base.region,
        base_slug=base.slug,
        base_values={**base_spec.spec_json(), "model": base_spec.model, "region": base.region},
    )
    # Checked beside what the base's live adapter rows load now, or will once approved;
    # not kept.
    live = lora.live_adapters(base.id, offer.deployments)
    checked = replace(bound, live_loaded=(*live.loaded, *live.pending), live_removed=live.removed)
    errors = lora.adapter_errors(spec.ask, checked.base_spec())
    if "base_model" in errors:
        errors["model"] = errors.pop("base_model")
    return bound, errors


def with_live_base(
    spec: GatewayAdapterSpec, ref: Any, around: tuple[OfferedDeployment, ...]
) -> GatewayAdapterSpec:
    """The adapter's spec as its plans need it now: its base as the base's row says (a base
    changed since the binding is rendered as it is), and the adapters the base's other live
    rows load and unload. A base no longer live keeps the values bound."""
    live = lora.live_adapters(spec.base or 0, around, besides=ref.id)
    spec = replace(spec, live_loaded=live.loaded, live_removed=live.removed)
    base = next((d for d in around if d.id == spec.base and d.target == BASE_TARGET), None)
    if base is None:
        return spec
    base_spec: GkeInferenceGatewaySpec = base.spec
    values = {**base_spec.spec_json(), "model": base_spec.model, "region": base.region}
    return replace(spec, base_slug=base.slug, base_values=values)


def depends_on(spec: GatewayAdapterSpec) -> int | None:
    """The deployment whose server loads the adapter: its base."""
    return spec.base


def spec_target() -> str:
    return "gke-inference-gateway-adapter"
