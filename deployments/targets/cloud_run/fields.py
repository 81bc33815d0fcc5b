"""The spec fields every Cloud Run target has, declared once with Cloud Run's limits.

Each target lists them in its own spec dataclass (with its seed's defaults) beside the
fields that are its own. Per-GPU limits (an L4 takes 4–8 vCPU) are checked by
deployments/targets/cloud_run/rules.py; the bounds here are the widest any GPU allows.
"""

from typing import Any

from deployments.catalog import GPU_TYPES
from deployments.targets.fields import choice_field, int_field

# Cloud Run's request ceiling (https://cloud.google.com/run/docs/configuring/request-timeout).
MAX_TIMEOUT_SECONDS = 3600
# https://cloud.google.com/run/docs/about-concurrency: at most 1000 requests an instance.
MAX_CONCURRENCY = 1000
# "By default, Cloud Run services have a maximum of 100 instances"
# (https://cloud.google.com/run/docs/configuring/max-instances-limits); GPU quotas are
# far lower, and the project's recorded capacity is checked when the request is assessed.
MAX_INSTANCES = 100


def cloud_run_gpus() -> list[tuple[str, str]]:
    return [(g.key, g.label) for g in GPU_TYPES.values() if g.cloud_run]


def cloud_run_regions() -> list[tuple[str, str]]:
    regions = {r for g in GPU_TYPES.values() if g.cloud_run for r in g.cloud_run.regions}
    return [(r, r) for r in sorted(regions)]


def _widest(attribute: str) -> int:
    return max(getattr(g.cloud_run, attribute) for g in GPU_TYPES.values() if g.cloud_run)


def region(default: str = "europe-west1") -> Any:
    return choice_field(
        default,
        label="Region",
        help="one where Cloud Run offers the GPU you pick.",
        cli="--region",
        choices=cloud_run_regions,
        choice_error="Cloud Run offers no GPU in that region.",
    )


def gpu_type(default: str = "nvidia-l4") -> Any:
    return choice_field(
        default,
        label="GPU type",
        help="the GPU attached to each instance.",
        cli="--gpu-type",
        choices=cloud_run_gpus,
        choice_error="Cloud Run offers no such GPU; pick one from the list.",
    )


def gpu_count(default: int = 1) -> Any:
    return int_field(
        default,
        label="GPUs per instance",
        help="Cloud Run attaches one GPU to an instance; scale out with max instances.",
        cli="--gpu",
        minimum=1,
        maximum=1,
        maximum_reason="Cloud Run attaches exactly one GPU to an instance; raise max "
        "instances to serve more traffic",
    )


def cpu(default: int) -> Any:
    return int_field(
        default,
        label="CPUs",
        help="vCPUs per instance; a GPU instance needs a minimum.",
        cli="--cpu",
        minimum=1,
        maximum=_widest("max_cpu"),
        maximum_reason="the most Cloud Run gives a GPU instance",
    )


def memory_gib(default: int) -> Any:
    return int_field(
        default,
        label="Memory (GiB)",
        help="instance memory; a GPU instance needs a minimum.",
        cli="--memory",
        minimum=1,
        maximum=_widest("max_memory_gib"),
        maximum_reason="the most Cloud Run gives a GPU instance",
    )


def concurrency(default: int, help: str) -> Any:
    return int_field(
        default,
        label="Concurrency",
        help=help,
        cli="--concurrency",
        minimum=1,
        maximum=MAX_CONCURRENCY,
        maximum_reason="Cloud Run's limit per instance",
    )


def min_instances(default: int = 0) -> Any:
    return int_field(
        default,
        label="Min instances",
        help="0 scales to zero when idle (no GPU cost, cold starts); 1 or more keeps GPUs "
        "warm and billed.",
        cli="--min-instances",
        minimum=0,
        maximum=MAX_INSTANCES,
        maximum_reason="Cloud Run's default ceiling for a service",
    )


def max_instances(default: int = 1) -> Any:
    return int_field(
        default,
        label="Max instances",
        help="must be at most the project's GPU quota for this region (Total Nvidia L4 GPU "
        "allocation, per project per region).",
        cli="--max-instances",
        minimum=1,
        maximum=MAX_INSTANCES,
        maximum_reason="Cloud Run's default ceiling for a service; the project's GPU quota "
        "is usually far lower",
    )


def timeout_seconds(default: int = 600) -> Any:
    # 600 s, not gcloud's 300 s (seed 002 deploys with gcloud's default): a long generation
    # and the first request of a cold start, which waits for the weights to load, run
    # past 300 s. Cloud Run allows up to 3600 s
    # (https://cloud.google.com/run/docs/configuring/request-timeout).
    return int_field(
        default,
        label="Request timeout (s)",
        help=f"how long one request may run. {default} s rather than gcloud's 300 s: a long "
        "generation, or the first request after a cold start (it waits for the weights), "
        f"takes longer. Cloud Run allows up to {MAX_TIMEOUT_SECONDS} s.",
        cli="--timeout",
        minimum=1,
        maximum=MAX_TIMEOUT_SECONDS,
        maximum_reason="Cloud Run's ceiling for a request",
    )
