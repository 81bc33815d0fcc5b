"""What a plan is made of: steps, each one exact API request plus the line a person would
type for it. Plans are computed by pure functions (each owner's), shown before anything
runs, pinned by tests and executed step by step by the runner."""

from dataclasses import dataclass, field
from typing import Any, Protocol

# Every object Hangar makes carries this label, so what is Hangar's can be told apart.
MANAGED_BY_LABEL = {"managed-by": "hangar"}
# The output a passing /health call through a GKE API server's service proxy leaves
# behind (runbook/executors/kube_endpoint.py): the proxy's base URL, the address a GKE
# target's endpoint names.
SERVICE_PROXY_URL_OUTPUT = "service_proxy_url"
# The step param a plan declares a wait's deadline in ({"seconds": N, "reason": "..."}): how
# long the step may wait on Google or Kubernetes before it fails, and why that long.
DEADLINE_PARAM = "deadline"


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request as the API receives it.

    `api` names the adapter (gcp/) that sends it; for `endpoint` the path is relative to
    the deployed service's URL, known only once the service is ready.
    """

    api: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    # Headers the request carries beside the credential (an Inference Gateway's objective).
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    # The executor that runs it: "<api module>.<function>" (runbook/executors/).
    action: str
    request: ApiRequest
    # The same step as a person would type it: a gcloud or kubectl line.
    cli: str
    # The IAM role the portal's identity needs for this step; named when Google refuses it.
    required_role: str
    params: dict[str, Any] = field(default_factory=dict)
    # "starts" when this step creates what Google bills, "ends" when it deletes it: an
    # owner that keeps a spend clock follows these.
    billing: str = ""


@dataclass(frozen=True)
class Deadline:
    """How long a step may wait, and why: the documented time it stands on (a Kubernetes
    default, GKE's stated duration, a seed's own timeout)."""

    seconds: float
    reason: str

    def as_param(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "reason": self.reason}


def deadline_of(step: Step) -> Deadline | None:
    """The deadline the step's plan declared, if any."""
    declared = step.params.get(DEADLINE_PARAM)
    if not isinstance(declared, dict):
        return None
    return Deadline(float(declared["seconds"]), str(declared.get("reason", "")))


class Plan(Protocol):
    """What the runner needs of any owner's plan: its phase and its ordered steps."""

    @property
    def phase(self) -> str: ...

    @property
    def steps(self) -> tuple[Step, ...]: ...


def step_of(plan: Plan, key: str) -> Step:
    """The plan's step with this key (KeyError when the plan has none)."""
    for step in plan.steps:
        if step.key == key:
            return step
    raise KeyError(key)
