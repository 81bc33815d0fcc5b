"""Cloud Run's rules for a revision template, GPU rules first."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from google.protobuf.message import Message

from sandbox.core.errors import invalid
from sandbox.core.validation import GIB, labels_ok, parse_cpu, parse_memory

SERVICE_ID = re.compile(r"[a-z]([-a-z0-9]{0,47}[a-z0-9])?")
# GPU type -> (regions offering it, minimum CPU, minimum memory in GiB).
GPUS: dict[str, tuple[frozenset[str], Decimal, int]] = {
    "nvidia-l4": (
        frozenset({"asia-southeast1", "europe-west1", "europe-west4", "us-central1", "us-east4"}),
        Decimal(4),
        16,
    ),
    "nvidia-rtx-pro-6000": (
        frozenset({"asia-southeast1", "europe-west4", "us-central1"}),
        Decimal(20),
        80,
    ),
}
RESERVED_ENV = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
LIMIT_KEYS = ("cpu", "memory", "nvidia.com/gpu")
RESERVED_PATHS = ("dev", "proc", "sys")
# Memory above the key needs at least this many CPUs (Cloud Run's memory/CPU pairing).
MIN_CPU_FOR_MEMORY = ((24, 8), (16, 6), (8, 4), (4, 2))
MAX_CPU = Decimal(8)
MAX_MEMORY_GIB = 32


def check_service_id(service_id: str) -> None:
    if not service_id:
        raise invalid("service_id is required.", "service_id")
    if not SERVICE_ID.fullmatch(service_id):
        raise invalid(
            f"Invalid service id '{service_id}'. Service names must use only lowercase "
            "alphanumeric characters and dashes, cannot begin or end with a dash, and cannot "
            "be longer than 49 characters.",
            "service_id",
        )


def check_service(service: Message, location: str) -> None:
    """Raise 400 INVALID_ARGUMENT for what Cloud Run refuses in a Service."""
    labels_ok(service.labels, "service.labels")
    template = service.template
    labels_ok(template.labels, "service.template.labels")
    if not service.HasField("template"):
        raise invalid("service.template is required.", "service.template")
    _check_containers(template, location)
    _check_volumes(template)
    concurrency = template.max_instance_request_concurrency
    if not 0 <= concurrency <= 1000:
        raise invalid(
            "max_instance_request_concurrency must be between 0 and 1000.",
            "service.template.max_instance_request_concurrency",
        )
    if template.HasField("timeout"):
        seconds = template.timeout.seconds + template.timeout.nanos / 1e9
        if not 1 <= seconds <= 3600:
            raise invalid("Timeout must be between 1 and 3600 seconds.", "service.template.timeout")
    scaling = template.scaling
    if scaling.min_instance_count < 0 or scaling.max_instance_count < 0:
        raise invalid("Instance counts must not be negative.", "service.template.scaling")
    if scaling.max_instance_count and scaling.min_instance_count > scaling.max_instance_count:
        raise invalid(
            "min_instance_count must be less than or equal to max_instance_count.",
            "service.template.scaling",
        )
    total = sum(t.percent for t in service.traffic)
    if len(service.traffic) and total != 100:
        raise invalid(f"Traffic percentages must sum to 100, got {total}.", "service.traffic")
    for target in service.traffic:
        if target.revision:
            raise invalid(
                f"Revision '{target.revision}' does not exist (the sandbox routes traffic to "
                "the latest revision only).",
                "service.traffic",
            )


def _check_volumes(template: Message) -> None:
    """Volume names are unique, each mount names a volume, mount paths are absolute."""
    names = [v.name for v in template.volumes]
    if len(set(names)) != len(names):
        raise invalid("Volume names must be unique.", "service.template.volumes")
    for volume in template.volumes:
        if not ENV_NAME.fullmatch(volume.name):
            raise invalid(f"Invalid volume name '{volume.name}'.", "service.template.volumes")
        if volume.HasField("gcs") and not volume.gcs.bucket:
            raise invalid(
                f"Volume '{volume.name}': gcs.bucket is required.", "service.template.volumes"
            )
    for i, container in enumerate(template.containers):
        for mount in container.volume_mounts:
            where = f"service.template.containers[{i}].volume_mounts"
            if mount.name not in names:
                raise invalid(f"Volume mount '{mount.name}' names no volume.", where)
            path = mount.mount_path
            if not path.startswith("/") or path == "/" or path.split("/")[1] in RESERVED_PATHS:
                raise invalid(f"Invalid mount path '{path}'.", where)


def _check_containers(template: Message, location: str) -> None:
    containers = template.containers
    if len(containers) == 0:
        raise invalid("At least one container must be specified.", "service.template.containers")
    if len(containers) > 10:
        raise invalid("At most 10 containers are allowed.", "service.template.containers")
    if sum(1 for c in containers if len(c.ports)) > 1:
        raise invalid(
            "Only one container may specify ports (the ingress container).",
            "service.template.containers",
        )
    accelerator = template.node_selector.accelerator
    gpu_containers = 0
    for i, container in enumerate(containers):
        if _check_container(container, f"service.template.containers[{i}]", accelerator, location):
            gpu_containers += 1
    if accelerator and gpu_containers == 0:
        raise invalid(
            f"Accelerator '{accelerator}' requires one container with "
            "resources.limits['nvidia.com/gpu'] = '1'.",
            "service.template.containers",
        )
    if gpu_containers > 1:
        raise invalid(
            "A GPU can be attached to only one container per instance.",
            "service.template.containers",
        )


def _check_container(container: Message, where: str, accelerator: str, location: str) -> bool:
    """Check one container; True if it takes the GPU."""
    if not container.image:
        raise invalid("Image must be specified.", f"{where}.image")
    _check_env(container, where)
    limits = dict(container.resources.limits)
    for key in limits:
        if key not in LIMIT_KEYS:
            raise invalid(
                f"Resource limit '{key}' is not supported; supported: {', '.join(LIMIT_KEYS)}.",
                f"{where}.resources.limits",
            )
    cpu = _quantity(limits.get("cpu", "1"), parse_cpu, "cpu", where)
    memory = _quantity(limits.get("memory", "512Mi"), parse_memory, "memory", where)
    gpu = "nvidia.com/gpu" in limits
    if gpu:
        if limits["nvidia.com/gpu"] != "1":
            raise invalid(
                "The only supported 'nvidia.com/gpu' value is '1'.",
                f"{where}.resources.limits",
            )
        if not accelerator:
            raise invalid(
                "A 'nvidia.com/gpu' limit requires template.node_selector.accelerator.",
                "service.template.node_selector",
            )
        _check_gpu(accelerator, location, container, cpu, memory, where)
    else:
        _check_size(cpu, memory, where)
    _check_probe(container.startup_probe, f"{where}.startup_probe")
    return gpu


def _check_env(container: Message, where: str) -> None:
    for env in container.env:
        if env.name in RESERVED_ENV:
            raise invalid(
                f"The following reserved env names were provided: {env.name}. These values "
                "are automatically set by the system.",
                f"{where}.env",
            )
        if not ENV_NAME.fullmatch(env.name):
            raise invalid(f"Invalid environment variable name '{env.name}'.", f"{where}.env")


def _quantity(value: str, parse: Callable[[str], Decimal | int], what: str, where: str) -> Decimal:
    try:
        return Decimal(parse(value))
    except ValueError:
        raise invalid(
            f"Invalid value '{value}' for resources.limits['{what}'].",
            f"{where}.resources.limits",
        ) from None


def _check_size(cpu: Decimal, memory: Decimal, where: str) -> None:
    if cpu <= 0 or cpu > MAX_CPU:
        raise invalid(f"CPU must be greater than 0 and at most {MAX_CPU}.", f"{where}.resources")
    if memory < 128 * 2**20 or memory > MAX_MEMORY_GIB * GIB:
        raise invalid(f"Memory must be between 128Mi and {MAX_MEMORY_GIB}Gi.", f"{where}.resources")
    for gib, min_cpu in MIN_CPU_FOR_MEMORY:
        if memory > gib * GIB and cpu < min_cpu:
            raise invalid(
                f"Memory above {gib}Gi requires at least {min_cpu} CPU.", f"{where}.resources"
            )


def _check_gpu(
    accelerator: str, location: str, container: Message, cpu: Decimal, memory: Decimal, where: str
) -> None:
    if accelerator not in GPUS:
        raise invalid(
            f"Accelerator type '{accelerator}' is not supported. Supported values: "
            f"{', '.join(GPUS)}.",
            "service.template.node_selector.accelerator",
        )
    regions, min_cpu, min_gib = GPUS[accelerator]
    if location not in regions:
        raise invalid(
            f"GPU type '{accelerator}' is not available in region '{location}'. Available "
            f"regions: {', '.join(sorted(regions))}.",
            "service.template.node_selector.accelerator",
        )
    if container.resources.cpu_idle:
        raise invalid(
            "GPU requires CPU to be always allocated: cpu_idle must be false "
            "(--no-cpu-throttling).",
            f"{where}.resources.cpu_idle",
        )
    if cpu < min_cpu:
        raise invalid(
            f"GPU type '{accelerator}' requires at least {min_cpu} CPU per instance, got {cpu}.",
            f"{where}.resources.limits",
        )
    if memory < min_gib * GIB:
        raise invalid(
            f"GPU type '{accelerator}' requires at least {min_gib}Gi of memory per instance.",
            f"{where}.resources.limits",
        )
    if accelerator == "nvidia-l4":
        _check_size(cpu, memory, where)


def _check_probe(probe: Message, where: str) -> None:
    p = probe
    if p.initial_delay_seconds < 0 or p.initial_delay_seconds > 240:
        raise invalid("initial_delay_seconds must be between 0 and 240.", where)
    if p.period_seconds and not 1 <= p.period_seconds <= 240:
        raise invalid("period_seconds must be between 1 and 240.", where)
    timeout, period = p.timeout_seconds, p.period_seconds
    if timeout and period and timeout > period:
        raise invalid("timeout_seconds must not be greater than period_seconds.", where)
