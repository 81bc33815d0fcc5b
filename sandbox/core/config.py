"""Runtime settings of the sandbox (command line, SANDBOX_* env vars, /_sandbox/config)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name) or default


def region_list(value: str) -> tuple[str, ...]:
    """`europe-west1, us-central1` → ("europe-west1", "us-central1")."""
    return tuple(sorted({part.strip() for part in value.split(",") if part.strip()}))


@dataclass
class Config:
    operation_delay: float = field(
        default_factory=lambda: _env_float("SANDBOX_OPERATION_DELAY", 2.0)
    )
    model_load_delay: float = field(
        default_factory=lambda: _env_float("SANDBOX_MODEL_LOAD_DELAY", 3.0)
    )
    token_delay: float = field(default_factory=lambda: _env_float("SANDBOX_TOKEN_DELAY", 0.02))
    # How long a new service account stays invisible to IAM (sandbox/iam/act_as.py).
    account_propagation_delay: float = field(
        default_factory=lambda: _env_float("SANDBOX_ACCOUNT_PROPAGATION_DELAY", 1.0)
    )
    # How long an idle Cloud Run instance lives on (billed), and how late Cloud Monitoring
    # shows a sample (sandbox/cloud_run/instances.py, sandbox/cloud_monitoring/api.py).
    run_idle_timeout: float = field(
        default_factory=lambda: _env_float("SANDBOX_RUN_IDLE_TIMEOUT", 900.0)
    )
    monitoring_delay: float = field(
        default_factory=lambda: _env_float("SANDBOX_MONITORING_DELAY", 0.0)
    )
    # Regions whose VPC has a proxy-only subnet from the start, as an operator would have
    # made them in the project (ProjectSetup): none by default, as in a new project;
    # scripts/run's demo project has them in the regions it offers.
    proxy_only_subnets: tuple[str, ...] = field(
        default_factory=lambda: region_list(os.environ.get("SANDBOX_PROXY_ONLY_SUBNETS", ""))
    )
    project: str = field(default_factory=lambda: _env_str("SANDBOX_PROJECT", "hangar-sandbox"))
    project_number: str = field(
        default_factory=lambda: _env_str("SANDBOX_PROJECT_NUMBER", "123456789012")
    )
    service_account: str = field(
        default_factory=lambda: _env_str(
            "SANDBOX_SERVICE_ACCOUNT", "hangar-portal@hangar-sandbox.iam.gserviceaccount.com"
        )
    )

    # Only the timing knobs may change at runtime: identity is fixed per process so
    # that tokens issued before a config change stay coherent.
    TUNABLE = (
        "operation_delay",
        "model_load_delay",
        "token_delay",
        "account_propagation_delay",
        "run_idle_timeout",
        "monitoring_delay",
    )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
