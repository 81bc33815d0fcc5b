"""What a target is to the rest of Hangar: one `TargetDef` per package, listed by the
registry in deployments/targets/__init__.py. Generic code asks a TargetDef; it never
asks for a target by name."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from deployments.pricing.estimator import Estimate
from deployments.targets.capabilities import LogSource, Metering
from deployments.targets.endpoint import Endpoint
from deployments.targets.fields import FieldErrors
from deployments.targets.offer import Offer, OfferedDeployment
from deployments.targets.plan import DeploymentPlan, DeploymentRef, PlanContext
from deployments.targets.spec import SpecBase
from runbook.owners import Executor

PlanBuilder = Callable[[DeploymentRef, Any, PlanContext], DeploymentPlan]
# An approver's allowance: the Gateway faces the internet (a request's is internal).
EXTERNAL_GATEWAY = "external_gateway"


@dataclass(frozen=True)
class ModelSizes:
    """One model as the comparison table sees it, whichever catalog it came from."""

    key: str
    ollama_gib: Decimal | None  # GPU memory Ollama needs (4-bit, 4 slots); None: no Ollama tag
    bf16_weights_gib: Decimal  # what vLLM loads


@dataclass(frozen=True)
class TargetOption:
    """One row of the comparison: does the model fit, on what, for how much."""

    target: str
    label: str
    fits: bool
    needed_gib: Decimal
    available_gib: int
    hardware: str
    estimate: Estimate | None
    cold_start: str
    available_in_hangar: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "label": self.label,
            "fits": self.fits,
            "needed_gib": str(self.needed_gib),
            "available_gib": self.available_gib,
            "hardware": self.hardware,
            "estimate": self.estimate.as_json() if self.estimate else None,
            "cold_start": self.cold_start,
            "available_in_hangar": self.available_in_hangar,
        }


class Compare(Protocol):
    """(model sizes, price table data, busy hours[, spec]) → the target's comparison row,
    None if it cannot serve that model at all. With `spec` (the target the form is for),
    the row prices the form's own shape rather than the seed's."""

    def __call__(
        self, sizes: ModelSizes, prices: dict[str, Any], busy: Decimal, spec: Any = None
    ) -> TargetOption | None: ...


@dataclass(frozen=True, kw_only=True)
class TargetDef:
    name: str  # as in URLs, the API and Deployment.target: "cloud-run-ollama"
    label: str
    spec_class: type[SpecBase]
    deploy_plan: PlanBuilder
    teardown_plan: PlanBuilder
    # spec → the model server it runs
    endpoint: Callable[[Any], Endpoint]
    # (spec, price table data, busy hours a day) → what Google bills
    estimate: Callable[[Any, dict[str, Any], Decimal], Estimate]
    compare: Compare
    # spec → one line for the approvals page ("0–1 instances, concurrency 4, ...")
    scaling_summary: Callable[[Any], str]
    # The request page: a template extending deployments/new.html, and the model it offers.
    form_template: str
    initial_model: str

    # What core code asks of a target instead of looking into its spec or its plans.
    # (deployment, spec) → how Google's measurement of what it bills is read
    # (metering/meters.py); None: Google bills nothing of its own.
    metering: Callable[[DeploymentRef, Any], Metering | None]
    # (deployment, spec, rollout outputs) → the logs its page shows (deployments/logs.py).
    log_sources: Callable[[DeploymentRef, Any, Mapping[str, Any]], Sequence[LogSource]]
    # Spec settings no request may ask for and an approver may allow when approving
    # (services/decisions.py): EXTERNAL_GATEWAY, say.
    approver_allowances: frozenset[str]
    # spec → the id of the deployment it runs on (a LoRA adapter's base), None for one
    # that runs on its own (services/offers.py: what a request on that one finds there).
    depends_on: Callable[[Any], int | None]
    # () → the executors of the actions only this target's plans use, beside runbook's
    # generic ones (the deployment owner hands the engine every target's:
    # services/rollout.py). A function, so that only a worker that runs steps loads them
    # and the Google and Kubernetes clients they import.
    executors: Callable[[], Mapping[str, Executor]] = lambda: {}
    # (spec, offer) → the spec as it runs for the team the offer is for, with the values
    # the target reads from what the team may use filled in (a GKE target: its cluster's
    # location), or field errors when the team may not use what the spec names. None:
    # the spec is the same for every team.
    bind_team: Callable[[Any, Offer], tuple[Any, FieldErrors]] | None = None
    # (spec, deployment, the team's live deployments) → the spec its plans are made from,
    # with what other live rows contribute to objects it shares with them (an Inference
    # Gateway's adapter list, from its live adapter rows), read afresh for every plan
    # (deployments/plans.py), never kept on a row. None: the spec as stored.
    with_live: Callable[[Any, DeploymentRef, tuple[OfferedDeployment, ...]], Any] | None = None
    # (deployment, spec, model) → headers a request for that model carries beside the
    # credential (an Inference Gateway's objective, which its endpoint picker reads).
    request_headers: Callable[[DeploymentRef, Any, str], dict[str, str]] = (
        lambda _ref, _spec, _model: {}
    )


def runs_on_its_own(spec: Any) -> int | None:
    """`depends_on` of a target whose deployments run on no other deployment."""
    return None
