"""The deployment page's charts of its model server over the last hour and day, from the
samples (metering.model_servers): gauges as read, counters as rates between samples,
histograms as the mean of what they observed between samples. A counter that went down
(a new instance started from zero) gives no point for that interval."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from metering.models import ServerSample

VLLM_CHARTS = (
    ("running", "Requests running", "requests"),
    ("waiting", "Requests waiting", "requests"),
    ("kv_cache", "KV-cache use", "%"),
    ("tokens_per_second", "Tokens generated per second", "tokens/s"),
    ("ttft", "Mean time to first token", "s"),
    ("itl", "Mean time per output token", "s"),
    ("preemptions", "Preemptions", "per interval"),
)
OLLAMA_CHARTS = (
    ("models_loaded", "Models loaded", "models"),
    ("vram_gib", "GPU memory held", "GiB"),
)


def _delta(now: dict[str, float], before: dict[str, float], key: str) -> float | None:
    if key not in now or key not in before or now[key] < before[key]:
        return None
    return now[key] - before[key]


def _mean(now: dict[str, float], before: dict[str, float], name: str) -> float | None:
    total, count = _delta(now, before, f"{name}_sum"), _delta(now, before, f"{name}_count")
    return round(total / count, 4) if total is not None and count else None


def _point(sample: ServerSample, previous: ServerSample | None) -> dict[str, float | None]:
    v = sample.values
    if sample.server == "ollama":
        vram = v.get("vram_bytes")
        return {
            "models_loaded": v.get("models_loaded"),
            "vram_gib": round(vram / 2**30, 2) if vram is not None else None,
        }
    before = previous.values if previous is not None else {}
    seconds = (sample.at - previous.at).total_seconds() if previous is not None else 0
    generated = _delta(v, before, "generation_tokens")
    kv = v.get("kv_cache")
    return {
        "running": v.get("running"),
        "waiting": v.get("waiting"),
        "kv_cache": round(kv * 100, 1) if kv is not None else None,
        "tokens_per_second": round(generated / seconds, 2)
        if generated is not None and seconds
        else None,
        "ttft": _mean(v, before, "ttft"),
        "itl": _mean(v, before, "itl"),
        "preemptions": _delta(v, before, "preemptions"),
    }


def server_charts(
    *, deployment: Any, window: timedelta, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One line chart per metric over `window`, in the shape static/charts.js draws."""
    now = now or timezone.now()
    samples = list(
        ServerSample.objects.filter(deployment=deployment, at__gt=now - window, at__lte=now)
    )
    if not samples:
        return []
    charts = OLLAMA_CHARTS if samples[-1].server == "ollama" else VLLM_CHARTS
    points = [(s.at, _point(s, samples[i - 1] if i else None)) for i, s in enumerate(samples)]
    fmt = "%H:%M" if window <= timedelta(hours=1) else "%d %H:%M"
    out = []
    for key, title, unit in charts:
        out.append(
            {
                "type": "line",
                "key": key,
                "title": title,
                "labels": [at.strftime(fmt) for at, _ in points],
                "values": [p.get(key) for _, p in points],
                "x_title": "UTC",
                "y_title": unit,
            }
        )
    return out
