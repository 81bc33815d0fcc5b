"""Sample what each ready deployment's model server says of itself, into Postgres: vLLM's
Prometheus /metrics (https://docs.vllm.ai/en/stable/usage/metrics/), Ollama's /api/ps
(https://docs.ollama.com/api/ps), reached as the playground reaches them (the endpoint's own
credential, gcp/endpoint.py). Samples older than the retention are deleted.

A sample is a request, and a request keeps a Cloud Run instance (billed) or starts one: a
deployment that scales to zero is sampled only while it is in use (a proxied request within
SAMPLE_AFTER_USE_SECONDS), so Hangar never wakes or holds an idle GPU for its charts.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from google.auth import exceptions as auth_exc
from prometheus_client.parser import text_string_to_metric_families

from deployments.choices import Status
from deployments.models import Deployment
from deployments.targets import spec_for, target_for
from deployments.targets.endpoint import Protocol
from gcp import endpoint as endpoint_client
from gcp.endpoint_credentials import UpstreamCredentialError
from metering.models import ServerSample

log = logging.getLogger(__name__)

# What a sample keeps of vLLM's /metrics: our key → the sample names that carry it (the
# first present wins: vLLM renamed gpu_cache_usage_perc and time_per_output_token_seconds).
VLLM_SAMPLES = {
    "running": ("vllm:num_requests_running",),
    "waiting": ("vllm:num_requests_waiting",),
    "kv_cache": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    "prompt_tokens": ("vllm:prompt_tokens_total",),
    "generation_tokens": ("vllm:generation_tokens_total",),
    "preemptions": ("vllm:num_preemptions_total",),
    "ttft_sum": ("vllm:time_to_first_token_seconds_sum",),
    "ttft_count": ("vllm:time_to_first_token_seconds_count",),
    "itl_sum": (
        "vllm:inter_token_latency_seconds_sum",
        "vllm:time_per_output_token_seconds_sum",
    ),
    "itl_count": (
        "vllm:inter_token_latency_seconds_count",
        "vllm:time_per_output_token_seconds_count",
    ),
}


@dataclass(frozen=True)
class SampleResult:
    sampled: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0


def parse_vllm_metrics(text: str) -> dict[str, float]:
    """Our keys from vLLM's exposition text, summed over label sets (engines, models);
    text that is not the exposition format gives nothing rather than an error."""
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    continue
                totals[sample.name] = totals.get(sample.name, 0.0) + float(sample.value)
    except (ValueError, TypeError, IndexError, KeyError):
        return {}
    values = {}
    for key, names in VLLM_SAMPLES.items():
        found = next((totals[n] for n in names if n in totals), None)
        if found is not None and found == found:  # NaN is no reading
            values[key] = found
    return values


def parse_ollama_ps(text: str) -> dict[str, float]:
    try:
        models = json.loads(text).get("models") or []
        return {
            "models_loaded": float(len(models)),
            "vram_bytes": float(sum(int(m.get("size_vram") or 0) for m in models)),
        }
    except (ValueError, TypeError, AttributeError, RecursionError):
        return {}


def _in_use(deployment: Deployment, spec: Any, now: datetime) -> bool:
    if getattr(spec, "min_instances", 1):
        return True  # an instance is there anyway
    window = timedelta(seconds=settings.METERING["SAMPLE_AFTER_USE_SECONDS"])
    return deployment.usage_records.filter(created_at__gte=now - window).exists()


def server_sample(*, deployment: Deployment, now: datetime) -> ServerSample | None:
    """One reading of the deployment's model server; None when it gave nothing usable."""
    endpoint = target_for(deployment).endpoint(spec_for(deployment))
    vllm = endpoint.protocol == Protocol.OPENAI
    status, text = endpoint_client.get_text(
        address=deployment.endpoint_url,
        credential=endpoint.credential,
        path="/metrics" if vllm else "/api/ps",
        timeout=float(settings.METERING["SAMPLE_TIMEOUT_SECONDS"]),
    )
    values = (parse_vllm_metrics if vllm else parse_ollama_ps)(text) if status == 200 else {}
    if not values:
        return None
    return ServerSample.objects.create(
        deployment=deployment, at=now, server="vllm" if vllm else "ollama", values=values
    )


def servers_sample(*, now: datetime | None = None) -> SampleResult:
    """Sample every ready deployment in use, and drop samples past the retention."""
    now = now or timezone.now()
    sampled = skipped = failed = 0
    ready = Deployment.objects.filter(status=Status.READY).exclude(endpoint_url="")
    for deployment in ready.select_related("team"):
        spec = spec_for(deployment)
        if not _in_use(deployment, spec, now):
            skipped += 1
            continue
        try:
            if server_sample(deployment=deployment, now=now):
                sampled += 1
            else:
                failed += 1
        except (requests.RequestException, UpstreamCredentialError, auth_exc.GoogleAuthError):
            log.warning("sampling %s's model server failed", deployment.slug, exc_info=True)
            failed += 1
    keep = timedelta(hours=settings.METERING["SAMPLE_RETENTION_HOURS"])
    deleted, _ = ServerSample.objects.filter(at__lt=now - keep).delete()
    return SampleResult(sampled=sampled, skipped=skipped, failed=failed, deleted=deleted)
