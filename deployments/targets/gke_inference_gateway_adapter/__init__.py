"""gke-inference-gateway-adapter: a LoRA adapter requested on a ready gke-inference-gateway
deployment (issue 14, item 6). A deployment row of its own (spec.py says why), loaded and
unloaded by plan.py through the base's lora-syncer; it is served at the base's Gateway
under its own name, so it shows in the base's model list and the OpenAI passthrough's
/v1/models as soon as the syncer has loaded it."""

from decimal import Decimal
from typing import Any

from deployments.pricing.estimator import Estimate
from deployments.targets.base import ModelSizes, TargetDef, TargetOption
from deployments.targets.capabilities import no_logs, not_metered
from deployments.targets.endpoint import Credential, Endpoint, Protocol
from deployments.targets.gke_inference_gateway import GATEWAY_URL_OUTPUT
from deployments.targets.gke_inference_gateway_adapter.plan import (
    TARGET,
    deploy_plan,
    request_headers,
    teardown_plan,
)
from deployments.targets.gke_inference_gateway_adapter.spec import (
    GatewayAdapterSpec,
    bind_base,
    depends_on,
    with_live_base,
)

LABEL = "LoRA adapter on a GKE Inference Gateway deployment"


def endpoint(spec: GatewayAdapterSpec) -> Endpoint:
    return Endpoint(
        address_output=GATEWAY_URL_OUTPUT,
        protocol=Protocol.OPENAI,
        credential=Credential.GKE_GATEWAY_IN_VPC,
        served_models=(spec.name,),
        description=f"The LoRA adapter {spec.source}, served as {spec.name!r} by its base "
        "deployment's vLLM behind the base's internal GKE Gateway.",
        access_hint="The Gateway is internal: Hangar must reach the cluster's VPC. A 404 "
        "for the adapter's name means the lora-syncer has not loaded it (yet).",
    )


def estimate(spec: GatewayAdapterSpec, prices: dict[str, Any], busy: Decimal) -> Estimate:
    """None of its own: the base deployment's nodes serve it, and its estimate bills them."""
    return Estimate(
        price_version=prices["version"],
        hourly_min=Decimal(0),
        hourly_max=Decimal(0),
        monthly=Decimal(0),
        busy_hours_per_day=Decimal(busy),
        lines=[("served by the base deployment's GPUs (billed there)", Decimal(0))],
        unit="hour (no cost of its own)",
        notes="An adapter adds no nodes: its base deployment's estimate counts them.",
    )


def compare(
    sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
) -> TargetOption | None:
    """Not a way to run a model on its own: no row in the comparison."""
    return None


def scaling_summary(spec: GatewayAdapterSpec) -> str:
    return (
        f"adapter {spec.name} (rank {spec.rank}, priority {spec.priority}) on deployment "
        f"{spec.base_slug or spec.base}: no GPUs of its own"
    )


GKE_INFERENCE_GATEWAY_ADAPTER = TargetDef(
    name=TARGET,
    label=LABEL,
    spec_class=GatewayAdapterSpec,
    deploy_plan=deploy_plan,
    teardown_plan=teardown_plan,
    endpoint=endpoint,
    estimate=estimate,
    compare=compare,
    scaling_summary=scaling_summary,
    form_template="deployments/new_gke_inference_gateway_adapter.html",
    initial_model="llama-3.1-8b-instruct",
    metering=not_metered,  # the base deployment's nodes serve it, metered there
    log_sources=no_logs,
    approver_allowances=frozenset(),
    depends_on=depends_on,
    bind_team=bind_base,
    with_live=with_live_base,
    request_headers=request_headers,
)
