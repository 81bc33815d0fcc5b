"""An adapter's plans: load it on its base deployment's server (the syncer's list with it,
its InferenceObjective: gke_inference_gateway/adapters.py), then wait for the Gateway (its
address is this deployment's endpoint too) and chat with the adapter by name through it.
Tear down unloads it (ensureNotExist) and deletes its objective; the base stays."""

from dataclasses import replace

from deployments.choices import Phase
from deployments.targets.endpoint import openai_smoke_body
from deployments.targets.gke_inference_gateway.adapters import (
    adapter_deploy_plan,
    adapter_teardown_plan,
)
from deployments.targets.gke_inference_gateway.gateway import EXTERNAL, objective_headers
from deployments.targets.gke_inference_gateway.plan import _gateway
from deployments.targets.gke_inference_gateway.steps import call_gateway, wait_gateway_step
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec, spec_target
from deployments.targets.plan import LEGACY_NAMES, DeploymentPlan, DeploymentRef, PlanContext
from runbook.plan import Step

TARGET = spec_target()


def base_ref(ref: DeploymentRef, spec: GatewayAdapterSpec) -> DeploymentRef:
    """The base deployment's identity (same team): its objects are named and labelled after
    it."""
    # The base keeps the names it was made with (its own row's legacy_names, bound with
    # its values), whatever the adapter's own row says.
    legacy = bool(spec.base_values.get(LEGACY_NAMES))
    return replace(ref, id=spec.base or 0, slug=spec.base_slug or "base", legacy_names=legacy)


def request_headers(ref: DeploymentRef, spec: GatewayAdapterSpec, model: str) -> dict[str, str]:
    """What a request for `model` at the base's Gateway carries: its objective."""
    return objective_headers(_gateway(base_ref(ref, spec), spec.base_spec()), model)


def deploy_plan(ref: DeploymentRef, spec: GatewayAdapterSpec, ctx: PlanContext) -> DeploymentPlan:
    base, server = base_ref(ref, spec), spec.base_spec()
    load = adapter_deploy_plan(base, server, spec.ask, ctx, owner=ref).steps
    gateway = _gateway(base, server)
    wait = wait_gateway_step(
        cluster=server.cluster or 0,
        namespace=gateway.namespace,
        gateway=gateway.pool,
        route=gateway.pool,
        external=gateway.gateway_class == EXTERNAL,
    )
    smoke = call_gateway(
        key="smoke_test",
        title=f"Chat with {spec.name} through the Gateway (the syncer has loaded it)",
        action="endpoint.openai_chat",
        path="/v1/chat/completions",
        body=openai_smoke_body(spec.name),
        headers=objective_headers(gateway, spec.name),
    )
    return DeploymentPlan(TARGET, Phase.DEPLOY, ref, (*load, wait, smoke))


def teardown_plan(ref: DeploymentRef, spec: GatewayAdapterSpec, ctx: PlanContext) -> DeploymentPlan:
    steps: tuple[Step, ...] = adapter_teardown_plan(
        base_ref(ref, spec), spec.base_spec(), spec.ask, ctx, owner=ref
    ).steps
    return DeploymentPlan(TARGET, Phase.TEARDOWN, ref, steps)
