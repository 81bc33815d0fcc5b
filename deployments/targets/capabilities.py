"""What a target says about itself as values, so core code asks rather than looks into
spec fields or step shapes: how Google's measurement of what it bills is read
(metering/meters.py), and which logs the deployment page shows (deployments/logs.py).
Each TargetDef builds these from its spec (base.py)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InstanceTime:
    """A Cloud Run service: Cloud Monitoring's billable instance time measures it (GPU
    services are instance-billed: every second of every instance)."""

    service: str
    region: str


@dataclass(frozen=True)
class NodeLifetime:
    """GKE nodes, billed whole: the lifetimes of the nodes the deployment's pods ran on
    (`namespace` and `selector`) or of the node pool it made (`node_pool`), read from the
    cluster's API, at `machine_type`'s price."""

    cluster: int  # the id of Hangar's cluster row; 0: none chosen
    machine_type: str
    namespace: str = ""
    selector: str = ""  # the pods, as a label selector
    node_pool: str = ""


Metering = InstanceTime | NodeLifetime


@dataclass(frozen=True)
class BuildLog:
    """The Cloud Build the rollout ran (its resource name)."""

    build: str


@dataclass(frozen=True)
class ServiceLog:
    """A Cloud Run service's request and container log."""

    service: str
    region: str


LogSource = BuildLog | ServiceLog


def build_log(outputs: Mapping[str, Any]) -> list[LogSource]:
    """The build the build step recorded (cloud_build.py), if it ran."""
    build = str(outputs.get("build", ""))
    return [BuildLog(build)] if build else []


def not_metered(ref: Any, spec: Any) -> None:
    """`metering` of a target Google bills nothing of its own for (it runs on another
    deployment's nodes)."""
    return None


def no_logs(ref: Any, spec: Any, outputs: Mapping[str, Any]) -> list[LogSource]:
    """`log_sources` of a target whose logs Cloud Logging keeps no per-deployment view of
    that Hangar reads (its pods log to the cluster)."""
    return []
