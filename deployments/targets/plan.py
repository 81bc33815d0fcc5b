"""What a target's plan is built from besides its spec, and the plan it returns.

Plans are data computed by pure functions. The approval page shows them, tests pin them,
and the engine (runbook/) executes them step by step for the deployment owner
(deployments/services/rollout.py).
"""

from dataclasses import asdict, dataclass
from typing import Any

from deployments.choices import Phase
from gcp import universe
from runbook.plan import MANAGED_BY_LABEL, Step, step_of


@dataclass(frozen=True)
class PlanContext:
    """Everything outside the deployment row that a plan depends on (from settings)."""

    project: str
    portal_service_account: str
    registry_repository: str
    ollama_image: str = "ollama/ollama:latest"
    vllm_image: str = "vllm/vllm-openai:v0.21.0"
    # The account builds run as: named in every build, granted only what a build needs.
    build_service_account: str = ""
    # Google's universe (seed 003 runs on s3nsapis.fr): service-account e-mails and the
    # Workload Identity pool derive from it.
    universe_domain: str = universe.DEFAULT_UNIVERSE

    def service_account_email(self, account_id: str) -> str:
        """An account of this project, named as its universe names them."""
        return universe.service_account_email(account_id, self.project, self.universe_domain)

    @property
    def builder(self) -> str:
        """The build account's email; Hangar's own by default, never the project's
        default build account (which holds Editor on the project)."""
        return self.build_service_account or self.service_account_email("hangar-builder")


# The key a spec stores its legacy-names mark under (spec.py; DeploymentRef below).
LEGACY_NAMES = "legacy_names"


@dataclass(frozen=True)
class DeploymentRef:
    """The identity of the deployment a plan is for."""

    id: int
    slug: str
    team_slug: str
    attempt: int
    # Rolled out before its objects' names carried a tag (gke/names.py): they keep the
    # names and labels they were made with. Set from the row (deployments/plans.py ref_for).
    legacy_names: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return {**MANAGED_BY_LABEL, "hangar-deployment": self.slug, "hangar-team": self.team_slug}


@dataclass(frozen=True)
class DeploymentPlan:
    target: str
    phase: Phase
    deployment: DeploymentRef
    steps: tuple[Step, ...]

    def step(self, key: str) -> Step:
        return step_of(self, key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "phase": self.phase.value,
            "deployment": asdict(self.deployment),
            "steps": [_step_dict(step) for step in self.steps],
        }


def _step_dict(step: Step) -> dict[str, Any]:
    """A step as plain data; a request without headers of its own shows none."""
    out = asdict(step)
    if out["request"].get("headers") is None:
        out["request"].pop("headers", None)
    return out
