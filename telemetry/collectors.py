"""What the metrics endpoint reads at scrape time instead of counting it again: rollout
steps from their events in Postgres, and the Celery queue's depth from the Redis broker."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from deployments.choices import IN_FLIGHT_OUTCOMES, EventKind
from deployments.models import DeploymentEvent

# Steps take from a second (an IAM grant) to an hour (a large model's build).
STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
# kombu's Redis transport keeps a queue's priority levels in lists of their own.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


class RolloutStepCollector:
    """hangar_rollout_step_duration_seconds{target, phase, step, outcome}: every finished
    step event, from its start to its end."""

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "hangar_rollout_step_duration_seconds",
            "Rollout steps from start to end, by target, phase, step and outcome.",
            labels=["target", "phase", "step", "outcome"],
        )
        took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        buckets = {
            f"le_{i}": Count("id", filter=Q(took__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(STEP_BUCKETS)
        }
        rows = (
            DeploymentEvent.objects.filter(
                kind=EventKind.STEP, started_at__isnull=False, finished_at__isnull=False
            )
            .exclude(outcome__in=[*IN_FLIGHT_OUTCOMES, ""])
            .annotate(took=took)
            .values("deployment__target", "phase", "step", "outcome")
            .annotate(count=Count("id"), total=Sum("took"), **buckets)
            .order_by()
        )
        for row in rows:
            cumulative = [
                (str(float(bound)), row[f"le_{i}"]) for i, bound in enumerate(STEP_BUCKETS)
            ]
            total: timedelta = row["total"] or timedelta(0)
            family.add_metric(
                [row["deployment__target"], row["phase"], row["step"], row["outcome"]],
                [*cumulative, ("+Inf", row["count"])],
                total.total_seconds(),
            )
        yield family


class QueueDepthCollector:
    """hangar_celery_queue_depth{queue}: tasks waiting in the broker for a worker (tasks
    a worker holds for a countdown are not waiting there)."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "hangar_celery_queue_depth", "Tasks waiting in the broker's queue.", labels=["queue"]
        )
        broker = str(settings.CELERY_BROKER_URL)
        if broker.startswith(("redis://", "rediss://")):
            queue = str(settings.CELERY_TASK_DEFAULT_QUEUE)
            family.add_metric([queue], float(_redis_depth(broker, queue)))
        yield family


def _redis_depth(url: str, queue: str) -> int:
    import redis

    client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        names = [queue] + [f"{queue}{_PRIORITY_SEPARATOR}{p}" for p in _PRIORITY_STEPS[1:]]
        with client.pipeline() as pipe:
            for name in names:
                pipe.llen(name)
            return int(sum(pipe.execute()))
    finally:
        client.close()
